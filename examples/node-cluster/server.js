'use strict';
// A Node.js cluster that answers corebench's workload endpoints, for
// `bench run --server`. No npm dependencies.
//
//   node server.js --port 8080 --workers 4 [--host 127.0.0.1] [--cpu-iters 2500]
//
// The primary forks --workers workers (default: WORKERS, else one per CPU
// Node may use), restarts one that exits, and on SIGTERM (or SIGINT)
// stops them and exits once they have drained. NODE_CLUSTER_SCHED_POLICY=rr
// makes the primary accept and hand connections round-robin (SCHED_RR,
// Node's default but on Windows); =none leaves it to the kernel, every
// worker accepting on the shared socket (SCHED_NONE). Node reads it
// itself, before this file runs.
//
// Under PM2's cluster mode (ecosystem.config.js) PM2 is the primary and
// this file runs as each instance: it serves, with NODE_APP_INSTANCE as
// its slot.
//
// Endpoints, as corebench's workload package serves them: / (Hello,
// World!), /json, /cpu?n=ITERS (the hex SHA-256 after ITERS rounds from
// the hash of "corebench", as workload.CPUDigest), /io?ms=MS (waits MS
// ms) and /.well-known/corebench (how many workers). Every response has
// X-Worker (the worker's slot, 0 to N-1) and X-Worker-Pid.

const cluster = require('node:cluster');
const crypto = require('node:crypto');
const http = require('node:http');
const os = require('node:os');

const DEFAULT_CPU_ITERS = 2500; // workload.DefaultCPUIters
const MAX_CPU_ITERS = 10000000; // workload.MaxCPUIters
const DEFAULT_IO_MS = 10;
const MAX_IO_MS = 30000;

function flag(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

function count(name, value, min) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`server.js: --${name} ${value}: want a whole number from ${min}`);
    process.exit(2);
  }
  return n;
}

const port = count('port', flag('port', process.env.PORT || '8080'), 0);
const host = flag('host', process.env.HOST || '127.0.0.1');
const workers = count('workers', flag('workers', process.env.WORKERS || String(os.availableParallelism())), 1);
const cpuIters = count('cpu-iters', flag('cpu-iters', String(DEFAULT_CPU_ITERS)), 0);

// cpuDigest is workload.CPUDigest: each round hashes the last digest.
// Every round is a call from JavaScript into OpenSSL, which costs more
// than the 32-byte hash itself; crypto.hash (Node 20.12+, 21.7+) is the
// cheapest such call, several times cheaper than a createHash object.
const sha256 = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'buffer')
  : (data) => crypto.createHash('sha256').update(data).digest();

function cpuDigest(iters) {
  let d = sha256('corebench');
  for (let i = 0; i < iters; i++) {
    d = sha256(d);
  }
  return d.toString('hex');
}

// intParam reads a whole-number query parameter from 0 to max, as the
// Go handler does; null and an error message when it is bad.
function intParam(url, name, def, max) {
  const s = url.searchParams.get(name);
  if (s === null || s === '') return [def, null];
  if (!/^\d+$/.test(s)) return [null, `${name}="${s}": want a whole number from 0 to ${max}`];
  const v = Number(s);
  if (v > max) return [null, `${name}=${v} is over the limit of ${max}`];
  return [v, null];
}

function serve(slot, total) {
  const text = { 'Content-Type': 'text/plain; charset=utf-8' };
  const server = http.createServer((req, res) => {
    res.setHeader('Server', 'corebench-node');
    res.setHeader('X-Worker', String(slot));
    res.setHeader('X-Worker-Pid', String(process.pid));
    const url = new URL(req.url, 'http://x');
    const send = (code, headers, body) => {
      res.writeHead(code, { ...headers, 'Content-Length': Buffer.byteLength(body) }); // not chunked, as Go's
      res.end(body);
    };
    switch (url.pathname) {
      case '/':
        return send(200, text, 'Hello, World!');
      case '/json':
        return send(200, { 'Content-Type': 'application/json' }, JSON.stringify({ message: 'Hello, World!' }));
      case '/cpu': {
        const [n, err] = intParam(url, 'n', cpuIters, MAX_CPU_ITERS);
        if (err) return send(400, text, err + '\n');
        return send(200, text, cpuDigest(n) + '\n');
      }
      case '/io': {
        const [ms, err] = intParam(url, 'ms', DEFAULT_IO_MS, MAX_IO_MS);
        if (err) return send(400, text, err + '\n');
        const t = setTimeout(() => send(200, text, `waited ${ms} ms\n`), ms);
        res.once('close', () => clearTimeout(t)); // answered, or the client went away: one listener per response, not per socket
        return;
      }
      case '/.well-known/corebench':
        return send(200, { 'Content-Type': 'application/json' }, JSON.stringify({
          server: 'corebench-node', model: 'node-cluster',
          sched: cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none',
          workers: total, slot, pid: process.pid,
        }));
      default:
        return send(404, text, '404 page not found\n');
    }
  });
  server.listen(port, host);
  // Drain on SIGTERM, whether the primary or a process-group signal sent
  // it: stop accepting, finish what is in flight, exit. Node 19+ closes
  // idle keep-alive connections in close().
  const drain = () => server.close(() => process.exit(0));
  process.on('SIGTERM', drain);
  process.on('SIGINT', drain);
}

if (process.env.NODE_APP_INSTANCE !== undefined) {
  // Under PM2: PM2 is the primary, this process is one instance.
  serve(Number(process.env.NODE_APP_INSTANCE), workers); // --workers: the ecosystem file passes instances

} else if (cluster.isPrimary) {
  const sched = cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none';
  let stopping = false;
  let listening = 0;
  const slots = new Map(); // worker id -> slot
  const fork = (slot) => {
    const w = cluster.fork({ SLOT: String(slot) });
    slots.set(w.id, slot);
  };
  for (let i = 0; i < workers; i++) fork(i);
  cluster.on('listening', () => {
    if (++listening === workers) {
      // One line once every worker listens, for `bench run --ready`.
      console.log(`listening on http://${host}:${port} workers=${workers} sched=${sched} pid=${process.pid}`);
    }
  });
  cluster.on('exit', (w, code, signal) => {
    const slot = slots.get(w.id);
    slots.delete(w.id);
    if (stopping) {
      if (slots.size === 0) process.exit(0);
      return;
    }
    console.error(`worker ${slot} (pid ${w.process.pid}) exited (${signal || code}); starting another`);
    fork(slot);
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (slots.size === 0) process.exit(0);
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  serve(Number(process.env.SLOT), workers);
}
