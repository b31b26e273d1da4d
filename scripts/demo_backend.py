#!/usr/bin/python3
"""Stand-in for the tasker services behind the demo gateway (stdlib only).

Answers every method on every path with 200 and a JSON echo of the method, the path and the
X-Tasker-* identity headers the gateway added, so the demo shows what reaches the upstream.

    /usr/bin/python3 scripts/demo_backend.py [PORT ...]     (default: 18080 18081)

Port 18080 plays the orchestration service and 18081 the worker service. Listens on 127.0.0.1
only. Stops on SIGINT or SIGTERM. Used by `make demo` (scripts/demo.sh), the README's Quick Start
and the headers of conf-examples/*.conf, e.g.

    /usr/bin/python3 scripts/demo_backend.py 18080 &
    curl -s http://127.0.0.1:18080/v1/tasks -H 'X-Tasker-Subject: me'
    {"method": "GET", "path": "/v1/tasks", "service": "orchestration", "x_tasker": {"X-Tasker-Subject": "me"}}
"""

import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE_NAMES = {18080: "orchestration", 18081: "worker"}
MAX_BODY = 1 << 20  # read (and discard) at most 1 MiB of a request body


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the gateway's upstream keepalive is exercised

    def version_string(self):
        return "tasker-demo-backend"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= MAX_BODY:
            self.rfile.read(length)
        elif length > MAX_BODY:
            self.close_connection = True
        port = self.server.server_address[1]
        body = {
            "service": SERVICE_NAMES.get(port, str(port)),
            "method": self.command,
            "path": self.path,
            "x_tasker": {k: v for k, v in self.headers.items() if k.lower().startswith("x-tasker-")},
        }
        data = (json.dumps(body, sort_keys=True) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

    def log_message(self, fmt, *args):  # quiet: the gateway's access log has the requests
        pass


def main(argv):
    if any(a in ("-h", "--help") for a in argv[1:]):
        sys.stdout.write(__doc__.lstrip())
        return 0
    try:
        ports = [int(p) for p in argv[1:]] or [18080, 18081]
    except ValueError:
        sys.stderr.write("demo_backend: usage: demo_backend.py [PORT ...] (see --help)\n")
        return 2
    servers = []
    for port in ports:
        try:
            servers.append(ThreadingHTTPServer(("127.0.0.1", port), EchoHandler))
        except OSError as e:
            sys.stderr.write(f"demo_backend: cannot listen on 127.0.0.1:{port}: {e.strerror}\n")
            return 1
    for srv in servers:
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sys.stderr.write("demo_backend: listening on " +
                     ", ".join(f"127.0.0.1:{p}" for p in ports) + "\n")
    stop.wait()
    for srv in servers:
        srv.shutdown()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
