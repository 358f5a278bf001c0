// PM2's cluster mode running server.js: PM2 is the primary (it forks the
// instances with Node's cluster module) and each instance serves, with
// NODE_APP_INSTANCE (0 to N-1) as its X-Worker. bench fills in PORT and
// WORKERS on the command line:
//
//   bench run --server 'pm2=PORT={port} WORKERS={workers} pm2-runtime start examples/node-cluster/ecosystem.config.js'
//
// pm2-runtime stays in the foreground, as bench (or a container) needs,
// and stops the instances on SIGTERM.
const workers = Number(process.env.WORKERS || 0) || 'max'; // 'max': one per CPU, as -i max

module.exports = {
  apps: [{
    name: 'corebench-node',
    script: __dirname + '/server.js',
    exec_mode: 'cluster',
    instances: workers,
    args: ['--port', process.env.PORT || '8080', '--workers', String(workers === 'max' ? require('node:os').availableParallelism() : workers)],
    // PM2 waits this long for an instance's 'listening' on reload, then
    // kills an old one after kill_timeout.
    listen_timeout: 8000,
    kill_timeout: 5000,
    env: { NODE_CLUSTER_SCHED_POLICY: process.env.NODE_CLUSTER_SCHED_POLICY || 'rr' },
  }],
};
