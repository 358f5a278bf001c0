# Sourced by run.sh and nginx-syscalls.sh: start_nginx DIR starts one
# nginx worker pinned to CPU 1, answering "Hello, World!" on a random
# loopback port, with its files in DIR; it sets port and ngpid and returns
# once nginx answers. The caller kills $ngpid.
# shellcheck shell=bash
start_nginx() {
  local dir=$1
  port=$((30000 + RANDOM % 20000))
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $dir/nginx.pid; error_log $dir/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:$port; location / { return 200 "Hello, World!"; } } }
CONF
  taskset -c 1 nginx -c "$dir/nginx.conf" &
  ngpid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0; sleep 0.1; done
  echo "nginx did not answer on port $port" >&2
  return 1
}
