#!/usr/bin/python3
"""JWKS key sets across reloads that change the configured URLs (a real master, two workers).

A reload keeps a URL's key set when the URL stays, whatever else changes: URLs added, removed or
reordered. A location whose URL a reload changed never uses another URL's keys, even when a
worker of the previous configuration, still finishing its requests, completes a fetch of the old
URL just after the reload (the JWKS zone's slots are matched by URL and carry an epoch).

Runs with Debian's /usr/bin/python3 (python3-jwt, python3-cryptography). Loopback only.
"""
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nginxlib import Nginx, conf_text, free_port, http_get, make_keys, mint, wait_for


class Endpoint:
    """A JWKS endpoint: /doc/NAME serves the key set, or 500 once failing(NAME) was called;
    /gate/NAME serves it only after release() (or 20 s), and counts the fetches it holds."""

    def __init__(self, jwks_path):
        with open(jwks_path, "rb") as f:
            self.jwks = f.read()
        self.failing = set()
        self.hits = {}  # path: requests
        self.gate = threading.Event()
        self.held = 0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with endpoint.lock:
                    endpoint.hits[self.path] = endpoint.hits.get(self.path, 0) + 1
                kind, _, name = self.path.strip("/").partition("/")
                if kind == "gate":
                    with endpoint.lock:
                        endpoint.held += 1
                    endpoint.gate.wait(20)
                if kind not in ("doc", "gate") or name in endpoint.failing:
                    self.send_response(500 if kind in ("doc", "gate") else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(endpoint.jwks)))
                self.end_headers()
                try:
                    self.wfile.write(endpoint.jwks)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a worker that left cancelled its held fetch

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # 16 URLs refreshed at once: no refused connection

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


class JwksReloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tasker-jwks-reload-")
        os.chmod(cls.tmp, 0o755)
        cls.keys = os.path.join(cls.tmp, "keys")
        make_keys(cls.keys)
        cls.tok = mint(cls.keys, {"kid": {"header": {"kid": "kid-rsa"}}})["kid"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.endpoint = Endpoint(os.path.join(self.keys, "jwks.json"))
        self.addCleanup(self.endpoint.close)
        self.port = free_port()

    def conf(self, locations, extra_listen=None, interval="1s"):
        """A configuration whose locations are {path: JWKS URL}, in that order."""
        blocks = "".join("""
        location = %s {
            tasker_auth on;
            tasker_jwt_verification_method jwks;
            tasker_jwks_refresh_interval %s;
            tasker_jwks_url %s;
            proxy_pass http://127.0.0.1:%d/_backend;
        }
""" % (path, interval, url, self.port) for path, url in locations)
        extra = "listen 127.0.0.1:%d;" % extra_listen if extra_listen else ""
        return conf_text(self.port, """
        %s
        location /_backend { tasker_auth off; return 200 "ok\\n"; }
        location = /metrics { tasker_auth off; tasker_auth_metrics; }
""" % extra + blocks)

    def nginx(self, locations, interval="1s"):
        n = Nginx(os.path.join(self.tmp, self.id().rsplit(".", 1)[1]),
                  self.conf(locations, interval=interval), port=self.port, ready_path="/_backend")
        self.addCleanup(n.stop)
        n.start()
        return n

    def reload(self, n, locations, extra_listen=None, interval="1s"):
        with open(n.conf, "w") as f:
            f.write(self.conf(locations, extra_listen, interval))
        r = n.reload()
        self.assertEqual(r.returncode, 0, r.stdout)

    def status(self, path):
        return http_get(self.port, path, {"Authorization": "Bearer " + self.tok})[0]

    def assertStays(self, path, want, seconds, n):
        """Every request for `seconds` seconds (on new connections, so both workers) answers
        `want`."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            self.assertEqual(self.status(path), want, n.log())
            time.sleep(0.1)

    def test_reload_adding_and_reordering_urls_keeps_the_loaded_set(self):
        a, b = self.endpoint.url("/doc/a"), self.endpoint.url("/doc/b")
        n = self.nginx([("/a", a)])
        wait_for(lambda: self.status("/a") == 200, what="the first key set", seconds=10)
        # the endpoint fails from now on: only the loaded set can answer for /a
        self.endpoint.failing.add("a")
        time.sleep(1.5)
        self.assertStays("/a", 200, 1, n)

        # a URL added before it (another zone layout before, another position now), then the
        # two swapped: /a keeps its set throughout
        self.reload(n, [("/b", b), ("/a", a)])
        wait_for(lambda: self.status("/b") == 200, what="the added URL's key set", seconds=10)
        self.assertStays("/a", 200, 2, n)
        self.reload(n, [("/a", a), ("/b", b)])
        self.assertStays("/a", 200, 2, n)
        self.reload(n, [("/a", a)])
        self.assertStays("/a", 200, 2, n)

    def test_a_removed_url_added_again_starts_over(self):
        x, y = self.endpoint.url("/doc/x"), self.endpoint.url("/doc/y")
        n = self.nginx([("/t", x)])
        wait_for(lambda: self.status("/t") == 200, what="x's key set", seconds=10)
        self.reload(n, [("/t", y)])
        wait_for(lambda: self.status("/t") == 200, what="y's key set", seconds=10)
        # x fails from now on; a configuration naming it again must not find its old document
        self.endpoint.failing.add("x")
        self.reload(n, [("/t", x)])
        time.sleep(1.5)
        self.assertStays("/t", 503, 2, n)

    def test_a_reload_that_fails_to_load_leaves_the_running_urls_alone(self):
        # 16 URLs run; two reloads with 16 other URLs each fail (a listen port is taken, which
        # nginx finds after the zone init): the running workers keep fetching every URL
        live = [("/l%d" % i, self.endpoint.url("/doc/l%d" % i)) for i in range(16)]
        n = self.nginx(live)
        wait_for(lambda: self.status("/l0") == 200 and self.status("/l15") == 200,
                 what="the key sets", seconds=15)
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        for name in ("f", "g"):
            self.reload(n, [("/%s%d" % (name, i), self.endpoint.url("/doc/%s%d" % (name, i)))
                            for i in range(16)], extra_listen=busy.getsockname()[1])
            wait_for(lambda: n.log().count("bind() to 127.0.0.1:%d failed"
                                           % busy.getsockname()[1]) >= (1 if name == "f" else 2),
                     what="the failed reload", seconds=10)
        before = dict(self.endpoint.hits)
        time.sleep(3.5)
        for i in range(16):
            path = "/doc/l%d" % i
            self.assertGreaterEqual(self.endpoint.hits.get(path, 0) - before.get(path, 0), 2,
                                    "%s is no longer refreshed\n%s" % (path, n.log()))
        self.assertStays("/l0", 200, 0.5, n)

    def test_a_refresh_that_brings_the_same_document_keeps_its_version(self):
        # every worker parses a document again only when it changed (a set of many EC keys
        # costs tens of milliseconds of each worker's time)
        n = self.nginx([("/a", self.endpoint.url("/doc/a"))])
        wait_for(lambda: self.status("/a") == 200, what="the first key set", seconds=10)
        time.sleep(3.5)
        versions = re.findall(r"JWKS refreshed url=\S+ keys=\d+ version=(\d+)", n.log())
        self.assertGreaterEqual(len(versions), 3, n.log())
        self.assertEqual(set(versions), {"1"}, n.log())
        self.assertStays("/a", 200, 0.5, n)

    def test_a_refresh_that_brings_the_same_document_is_not_parsed_again(self):
        # the worker that fetched it keeps the set it has: a document with a key it must skip
        # warns at its first parse only, not at every refresh (a set of many EC keys costs that
        # worker tens of milliseconds per parse, and a client can ask for an early refresh)
        doc = json.loads(self.endpoint.jwks)
        enc = dict(doc["keys"][0], kid="enc-1", use="enc")
        self.endpoint.jwks = json.dumps({"keys": doc["keys"] + [enc]}).encode()
        n = self.nginx([("/a", self.endpoint.url("/doc/a"))])
        wait_for(lambda: self.status("/a") == 200, what="the first key set", seconds=10)
        time.sleep(4.5)
        refreshes = len(re.findall(r"JWKS refreshed url=\S+ keys=\d+ version=1", n.log()))
        skipped = n.log().count("skipped a key")
        self.assertGreaterEqual(refreshes, 4, n.log())
        self.assertGreaterEqual(skipped, 1, n.log())
        # each worker parsed it once at most (2 workers), whichever fetched
        self.assertLessEqual(skipped, 2, n.log())
        self.assertStays("/a", 200, 0.5, n)

    def test_a_reload_that_shortens_the_refresh_interval_takes_effect_at_once(self):
        a = self.endpoint.url("/doc/a")
        n = self.nginx([("/a", a)], interval="3600s")
        wait_for(lambda: self.status("/a") == 200, what="the first key set", seconds=10)
        self.reload(n, [("/a", a)], interval="1s")
        before = self.endpoint.hits.get("/doc/a", 0)
        time.sleep(3.5)
        self.assertGreaterEqual(self.endpoint.hits.get("/doc/a", 0) - before, 2,
                                "the 1 s interval waited for the 3600 s schedule\n" + n.log())
        self.assertStays("/a", 200, 0.5, n)

    def test_a_location_moved_to_another_url_never_uses_the_old_urls_keys(self):
        # /t fetches through the gate: the fetch is still in flight at the reload, in a worker
        # of the first configuration, and completes just after it
        n = self.nginx([("/t", self.endpoint.url("/gate/x"))])
        wait_for(lambda: self.endpoint.held >= 1, what="the held fetch", seconds=10)

        down = "http://127.0.0.1:%d/jwks.json" % free_port()  # nothing listens there
        started = n.log().count("start worker process")
        self.reload(n, [("/t", down)])
        # The master has set up the zone for the new configuration when it starts the new
        # workers, and tells the old ones to leave 100 ms later: release the fetch in between.
        wait_for(lambda: n.log().count("start worker process") > started, step=0.002,
                 what="the new workers")
        self.endpoint.gate.set()
        time.sleep(1.0)

        # no key set was ever obtained from the new URL: 503, never the old URL's keys
        self.assertStays("/t", 503, 3, n)
        _, text, _ = http_get(self.port, "/metrics")
        keys = re.search(r'^tasker_auth_jwks_keys\{url="%s"\} (\d+)$' % re.escape(down), text,
                         re.M)
        self.assertIsNotNone(keys, text)
        self.assertEqual(keys.group(1), "0", "the old URL's fetch must not count for the new one")


def main():
    prog = unittest.main(module=__name__, exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    print("%d passed, %d failed" % (r.testsRun - failed - len(r.skipped), failed), flush=True)
    return 0 if r.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
