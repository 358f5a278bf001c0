#!/usr/bin/env python3
"""corebench's workload endpoints from Python, standard library only, for
`bench run --server`.

    python3 server.py --port 8080 --workers 4 [--host 127.0.0.1] [--cpu-iters 2500]

Pre-forked processes: the primary binds one listening socket, forks
--workers processes that all accept on it (the kernel wakes one per
connection, as bench's prefork-os), restarts one that exits, and on
SIGTERM stops them and exits once they have drained. Each process serves
its connections from threads (ThreadingHTTPServer), so the GIL lets one
run Python at a time: a process is one core's worth, and /io waits
overlap. X-Worker is the process's slot (0 to N-1), X-Worker-Pid its pid.

Endpoints as the workload package serves them: / (Hello, World!), /json,
/cpu?n=ITERS (the hex SHA-256 after ITERS rounds from the hash of
"corebench", as workload.CPUDigest), /io?ms=MS and
/.well-known/corebench (how many workers).
"""

import argparse
import hashlib
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse

DEFAULT_CPU_ITERS = 2500  # workload.DefaultCPUIters
MAX_CPU_ITERS = 10_000_000  # workload.MaxCPUIters
DEFAULT_IO_MS = 10
MAX_IO_MS = 30_000


def cpu_digest(iters):
    """workload.CPUDigest: each round hashes the last digest."""
    d = hashlib.sha256(b"corebench").digest()
    for _ in range(iters):
        d = hashlib.sha256(d).digest()
    return d.hex()


def int_param(query, name, default, maximum):
    vals = query.get(name)
    if not vals or vals[0] == "":
        return default, None
    s = vals[0]
    if not s.isdigit():
        return None, f'{name}="{s}": want a whole number from 0 to {maximum}'
    v = int(s)
    if v > maximum:
        return None, f"{name}={v} is over the limit of {maximum}"
    return v, None


def handler(slot, workers, cpu_iters):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the load generator expects
        # One write per response (the handler flushes after each): headers
        # and body apart would meet Nagle and delayed ACKs, 40 ms a request.
        wbufsize = -1
        disable_nagle_algorithm = True
        server_version = "corebench-python"

        def version_string(self):
            return self.server_version

        def send(self, code, ctype, body):
            body = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Worker", str(slot))
            self.send_header("X-Worker-Pid", str(os.getpid()))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            text = "text/plain; charset=utf-8"
            if url.path == "/":
                self.send(200, text, "Hello, World!")
            elif url.path == "/json":
                self.send(200, "application/json", json.dumps({"message": "Hello, World!"}, separators=(",", ":")))
            elif url.path == "/cpu":
                n, err = int_param(q, "n", cpu_iters, MAX_CPU_ITERS)
                if err:
                    self.send(400, text, err + "\n")
                else:
                    self.send(200, text, cpu_digest(n) + "\n")
            elif url.path == "/io":
                ms, err = int_param(q, "ms", DEFAULT_IO_MS, MAX_IO_MS)
                if err:
                    self.send(400, text, err + "\n")
                else:
                    time.sleep(ms / 1000)
                    self.send(200, text, f"waited {ms} ms\n")
            elif url.path == "/.well-known/corebench":
                self.send(200, "application/json", json.dumps({
                    "server": "corebench-python", "model": "python-prefork",
                    "workers": workers, "slot": slot, "pid": os.getpid()}))
            else:
                self.send(404, text, "404 page not found\n")

        def log_message(self, *args):
            pass  # a line per request would cost more than the request

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        # The socket is shared and non-blocking: every process wakes for a
        # connection and one gets it; the others' accept fails at once
        # (socketserver ignores the error) instead of blocking, deaf to
        # SIGTERM, until the next one.
        conn, addr = self.socket.accept()
        conn.setblocking(True)
        return conn, addr


def serve(sock, slot, workers, cpu_iters):
    srv = Server(sock.getsockname(), handler(slot, workers, cpu_iters), bind_and_activate=False)
    srv.socket.close()
    srv.socket = sock
    # Drain on SIGTERM (from the primary or the process group): stop
    # accepting; daemon threads end with the process once it returns.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    signal.signal(signal.SIGINT, signal.getsignal(signal.SIGTERM))
    srv.serve_forever()
    os._exit(0)


def main():
    p = argparse.ArgumentParser(description="corebench's endpoints from pre-forked Python processes")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", str(len(os.sched_getaffinity(0))))))
    p.add_argument("--cpu-iters", type=int, default=DEFAULT_CPU_ITERS)
    a = p.parse_args()
    if a.workers < 1 or a.cpu_iters < 0:
        p.error("--workers must be at least 1 and --cpu-iters not negative")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((a.host, a.port))
    sock.listen(1024)
    sock.setblocking(False)

    children = {}  # pid -> slot
    stopping = False

    def fork(slot):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            serve(sock, slot, a.workers, a.cpu_iters)
        children[pid] = slot

    def stop(*_):
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(a.workers):
        fork(slot)
    print(f"listening on http://{a.host}:{sock.getsockname()[1]} workers={a.workers} pid={os.getpid()}", flush=True)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        slot = children.pop(pid, None)
        if slot is not None and not stopping:
            print(f"worker {slot} (pid {pid}) exited ({status}); starting another", file=sys.stderr, flush=True)
            fork(slot)


if __name__ == "__main__":
    main()
