#!/usr/bin/python3
"""A JWKS endpoint for the integration tests that can misbehave on request (stdlib only).

Started once per test file by t/lib/JwksServer.pm; prints one line
"data=PORT refuse=PORT ctl=PORT" on stdout and serves until its parent exits.

Data port (what nginx fetches), GET only:
  /keys/FILE               the file from --keys DIR (e.g. jwks.json)
  /status/CODE             that status with a short JSON body
  /garbage                 200 with a body that is not JSON
  /bytes/N/FILE            200 with FILE padded to exactly N bytes (still valid JSON)
  /stall/SECONDS/FILE      reads the request, waits SECONDS (noticing when the client hangs
                           up), then serves FILE
  /doc/NAME                a switchable document: what the control port last set for NAME,
                           by default /keys/jwks.json
Anything else is 404.

Refuse port: bound but never listening, so every connection to it is refused.

Control port (the tests, directly or through nginx):
  POST /reset              forget the documents and the request log, listen again
  PUT  /doc/NAME?to=PATH   /doc/NAME now answers as the data path PATH
  PUT  /doc/NAME?status=N  /doc/NAME now answers with the request body and status N (200)
  POST /refuse             close the data listener (connections are refused); POST /accept
                           listens again on the same port
  GET  /log                the data requests since the reset, as JSON: path, start, end
                           (epoch seconds), status, outcome (served, client_closed, error)
  GET  /wait?path=P&count=N[&status=S][&started=1][&timeout=T]
                           waits until N requests for P have ended (with status S) or, with
                           started=1, begun; 200 with the log, or 504 after T (10) seconds
  GET  /probe?path=P&n=N&interval=I[&limit=L][&port=PORT]
                           sends N GETs for P to 127.0.0.1:PORT (default: the X-Probe-Port
                           header, set by nginx where it proxies /probe) one after the other,
                           I seconds apart, with Authorization set to this request's
                           X-Probe-Authorization header, and answers a JSON summary: how many, their statuses, how many took
                           longer than L seconds (1), and whether a data request (the stalled
                           fetch) was in progress from the first probe to the last
"""
import argparse
import http.client
import json
import os
import select
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Condition()
STATE = {"docs": {}, "log": []}
KEYS_DIR = "."


def log_start(path):
    entry = {"path": path, "start": time.time(), "end": None, "status": None, "outcome": None}
    with LOCK:
        STATE["log"].append(entry)
        LOCK.notify_all()
    return entry


def log_end(entry, status, outcome):
    with LOCK:
        entry.update(end=time.time(), status=status, outcome=outcome)
        LOCK.notify_all()


def read_key_file(name):
    if "/" in name or name.startswith("."):
        return None
    try:
        with open(os.path.join(KEYS_DIR, name), "rb") as f:
            return f.read()
    except OSError:
        return None


def client_gone(sock):
    """True when the peer has closed the connection (readable with nothing to read)."""
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Data(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def resolve(self, path, depth=0):
        """(status, body, stall_seconds) for a data path."""
        parts = [p for p in path.split("/") if p]
        if not parts or depth > 4:
            return 404, b'{"error":"not found"}', 0
        if parts[0] == "keys" and len(parts) == 2:
            body = read_key_file(parts[1])
            return (200, body, 0) if body is not None else (404, b"{}", 0)
        if parts[0] == "status" and len(parts) == 2 and parts[1].isdigit():
            return int(parts[1]), b'{"error":"status %s"}' % parts[1].encode(), 0
        if parts == ["garbage"]:
            return 200, b"\x00not json at all {{{ \xff", 0
        if parts[0] == "bytes" and len(parts) == 3 and parts[1].isdigit():
            body = read_key_file(parts[2])
            n = int(parts[1])
            if body is None:
                return 404, b"{}", 0
            doc = json.loads(body)
            doc["padding"] = ""
            base = len(json.dumps(doc, separators=(",", ":")).encode())
            doc["padding"] = "x" * max(0, n - base)
            return 200, json.dumps(doc, separators=(",", ":")).encode(), 0
        if parts[0] == "stall" and len(parts) == 3:
            status, body, _ = self.resolve("/keys/" + parts[2], depth + 1)
            return status, body, float(parts[1])
        if parts[0] == "doc" and len(parts) == 2:
            with LOCK:
                doc = STATE["docs"].get(parts[1], {"to": "/keys/jwks.json"})
            if "to" in doc:
                return self.resolve(doc["to"], depth + 1)
            return doc["status"], doc["body"], 0
        return 404, b'{"error":"not found"}', 0

    def do_GET(self):
        entry = log_start(urllib.parse.urlsplit(self.path).path)
        status, body, stall = self.resolve(entry["path"])
        deadline = time.time() + stall
        while time.time() < deadline:
            if client_gone(self.connection):
                log_end(entry, None, "client_closed")
                self.close_connection = True
                return
            time.sleep(0.05)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            log_end(entry, status, "served")
        except OSError:
            log_end(entry, status, "error")


class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    data_server = None  # set in main

    def log_message(self, *args):
        pass

    def reply(self, status, obj=None):
        body = b"" if obj is None else json.dumps(obj, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        self.body()
        if path == "/reset":
            with LOCK:
                STATE["docs"].clear()
                STATE["log"].clear()
            self.data_server.listen()
            return self.reply(204)
        if path == "/refuse":
            self.data_server.refuse()
            return self.reply(204)
        if path == "/accept":
            self.data_server.listen()
            return self.reply(204)
        return self.reply(404, {"error": "unknown control " + path})

    def do_PUT(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        body = self.body()
        parts = [p for p in url.path.split("/") if p]
        if len(parts) != 2 or parts[0] != "doc":
            return self.reply(404, {"error": "unknown control " + url.path})
        doc = {"to": q["to"]} if "to" in q else {"status": int(q.get("status", 200)), "body": body}
        with LOCK:
            STATE["docs"][parts[1]] = doc
        return self.reply(204)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/log":
            with LOCK:
                return self.reply(200, STATE["log"])
        if url.path == "/wait":
            return self.wait(q)
        if url.path == "/probe":
            return self.probe(q)
        return self.reply(404, {"error": "unknown control " + url.path})

    def wait(self, q):
        count = int(q.get("count", 1))
        deadline = time.time() + float(q.get("timeout", 10))

        def matching():
            return [e for e in STATE["log"] if e["path"] == q.get("path")
                    and (q.get("started") or e["end"] is not None)
                    and ("status" not in q or e["status"] == int(q["status"]))]

        with LOCK:
            while len(matching()) < count:
                left = deadline - time.time()
                if left <= 0:
                    return self.reply(504, STATE["log"])
                LOCK.wait(left)
            return self.reply(200, STATE["log"])

    def probe(self, q):
        port = int(q.get("port") or self.headers.get("X-Probe-Port") or 0)
        path = q.get("path", "/")
        n = int(q.get("n", 10))
        interval = float(q.get("interval", 0.2))
        limit = float(q.get("limit", 1.0))
        headers = {}
        if self.headers.get("X-Probe-Authorization"):
            headers["Authorization"] = self.headers["X-Probe-Authorization"]

        def stalled_now():
            with LOCK:
                return any(e["end"] is None for e in STATE["log"])

        stalled = stalled_now()
        statuses, slow, worst = {}, 0, 0.0
        for i in range(n):
            t0 = time.time()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path, headers=headers)
                r = conn.getresponse()
                r.read()
                status = str(r.status)
                conn.close()
            except OSError as e:
                status = type(e).__name__
            took = time.time() - t0
            worst = max(worst, took)
            slow += took > limit
            statuses[status] = statuses.get(status, 0) + 1
            if i + 1 < n:
                time.sleep(interval)
        stalled = stalled and stalled_now()
        self.send_response(200)
        summary = {"requests": n, "statuses": statuses, "slower_than_limit": slow,
                   "fetch_in_progress_throughout": stalled}
        body = json.dumps(summary, sort_keys=True, separators=(",", ":")).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print("jwks_server: probe %s: slowest request %.3f s" % (path, worst),
              file=sys.stderr, flush=True)


class DataServer:
    """The data listener, which can be closed (refusing connections) and opened again."""

    def __init__(self):
        self.lock = threading.Lock()
        self.server = None
        self.port = 0
        self.listen()

    def listen(self):
        with self.lock:
            if self.server is not None:
                return
            ThreadingHTTPServer.allow_reuse_address = True
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Data)
            self.server.daemon_threads = True
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def refuse(self):
        with self.lock:
            if self.server is None:
                return
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def main():
    global KEYS_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", required=True)
    args = ap.parse_args()
    KEYS_DIR = args.keys

    data = DataServer()
    refuse = socket.socket()
    refuse.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    Control.data_server = data
    ctl = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    ctl.daemon_threads = True
    threading.Thread(target=ctl.serve_forever, daemon=True).start()

    print("data=%d refuse=%d ctl=%d" % (data.port, refuse.getsockname()[1],
                                        ctl.server_address[1]), flush=True)
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)


if __name__ == "__main__":
    main()
