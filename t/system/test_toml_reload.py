#!/usr/bin/python3
"""Reloads with a broken tasker_auth_config file (issue 10, SPEC 8 "Configuration files").

A running nginx (master and one worker) reads its API keys from a TOML file. The file is then
replaced, one after the other, by each input that crashed toml++ 3.3.0 inside nginx's master
(a '[' alone on a line, '[[[1]]]', '[}', a non-ASCII key, a control character in a date-time,
invalid UTF-8, a truncated file). For each:

- `nginx -t` exits 1 and names the file;
- `nginx -s reload` leaves the same master running, logs an error naming the file, and the
  old configuration keeps answering (the old key still works);

and at the end a fixed file reloads normally (the new key works, the old one no longer does), so
the master is still fully functional. No process may have died on a signal.

Runs with Debian's /usr/bin/python3; loopback only.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NGINX = os.environ.get("TEST_NGINX_BINARY", "/usr/sbin/nginx")
MODULE = os.environ.get("TEST_NGINX_MODULE",
                        os.path.join(REPO, "build", "ngx_http_tasker_auth_module.so"))

GOOD = """[auth]
enabled = true
api_keys_enabled = true

[[auth.api_keys]]
key = "{key}"
permissions = ["tasks:read"]
description = "reload-test"
"""

# Each of these aborted `nginx -t` (exit 134) or the master on reload before toml_guard.
BROKEN = {
    "bracket alone": b"[auth]\nenabled = true\n[\n",
    "triple bracket": b"[[[1]]]\n",
    "brace in array": b"[auth]\nenabled = true\njwt_allowed_algorithms = [}\n",
    "non-ASCII key": "[auth]\n\u00e9nabled = true\n".encode(),
    "control in date-time": b"[auth]\nenabled = 1979-05-27T\x00\x00:00:00\n",
    "invalid UTF-8": b"[auth]\njwt_issuer = \"\xff\"\n",
    "truncated": b"[auth]\nenabled = true\njwt_issuer = \"tasker-co",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/t", headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


class TomlReloadTest(unittest.TestCase):
    def setUp(self):
        self.prefix = tempfile.mkdtemp(prefix="tasker-toml-reload-")
        for d in ("logs", "conf", "tmp"):
            os.makedirs(os.path.join(self.prefix, d))
        self.toml = os.path.join(self.prefix, "conf", "auth.toml")
        self.conf = os.path.join(self.prefix, "conf", "nginx.conf")
        self.port = free_port()
        with open(self.conf, "w") as f:
            f.write(f"""
load_module {MODULE};
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        location = /t {{
            tasker_auth_config auth.toml;
            tasker_permission tasks:read;
            proxy_pass http://127.0.0.1:{self.port}/_backend;
        }}
        location = /_backend {{ return 200 "ok\\n"; }}
    }}
}}
""")
        self.write_toml(GOOD.format(key="old-key-1234567890").encode())

    def tearDown(self):
        pid = self.master_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGQUIT)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.05)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.prefix, ignore_errors=True)

    def nginx(self, *args):
        return subprocess.run([NGINX, "-p", self.prefix + "/", "-c", self.conf, *args],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace")

    def write_toml(self, data):
        tmp = self.toml + ".new"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, self.toml)

    def master_pid(self):
        try:
            with open(os.path.join(self.prefix, "logs", "nginx.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def log(self):
        with open(os.path.join(self.prefix, "logs", "error.log"), errors="replace") as f:
            return f.read()

    def alive(self, pid):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False

    def wait_for(self, what, predicate, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail("timed out waiting for " + what)

    def test_reload_with_broken_toml_keeps_serving(self):
        r = self.nginx()
        self.assertEqual(r.returncode, 0, r.stdout)
        self.wait_for("pid file", lambda: self.master_pid() is not None)
        master = self.master_pid()
        old = {"X-API-Key": "old-key-1234567890"}
        new = {"X-API-Key": "new-key-1234567890"}
        self.wait_for("first answer", lambda: get(self.port, old)[0] == 200)

        for name, data in BROKEN.items():
            with self.subTest(name):
                self.write_toml(data)
                t = self.nginx("-t")
                self.assertEqual(t.returncode, 1, t.stdout)
                self.assertIn(self.toml + ":", t.stdout)
                self.assertIn("tasker_auth_config", t.stdout)

                before = self.log().count("tasker_auth_config")
                os.kill(master, signal.SIGHUP)
                self.wait_for("the reload error in the log",
                              lambda: self.log().count("tasker_auth_config") > before)
                self.assertTrue(self.alive(master), "the master died on reload")
                self.assertEqual(self.master_pid(), master)
                self.assertEqual(get(self.port, old)[0], 200, "old configuration not serving")
                self.assertEqual(get(self.port, new)[0], 401)

        # A fixed file reloads as usual: the master is still fully working.
        self.write_toml(GOOD.format(key="new-key-1234567890").encode())
        self.assertEqual(self.nginx("-t").returncode, 0)
        os.kill(master, signal.SIGHUP)
        self.wait_for("the new key", lambda: get(self.port, new)[0] == 200)
        # The old worker may still accept a connection or two while it shuts down.
        self.wait_for("the old key refused", lambda: get(self.port, old)[0] == 401)
        self.assertTrue(self.alive(master))

        log = self.log()
        self.assertNotIn("exited on signal", log)
        self.assertNotIn("Assertion", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
