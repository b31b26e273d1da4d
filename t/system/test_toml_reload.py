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
import os
import shutil
import signal
import tempfile
import unittest

from nginxlib import Nginx, alive, conf_text, free_port, http_get, wait_for

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


def get(port, headers):
    return http_get(port, "/t", headers)


class TomlReloadTest(unittest.TestCase):
    def setUp(self):
        self.prefix = tempfile.mkdtemp(prefix="tasker-toml-reload-")
        self.toml = os.path.join(self.prefix, "conf", "auth.toml")
        self.port = free_port()
        self.server = Nginx(self.prefix, conf_text(self.port, f"""
        location = /t {{
            tasker_auth_config auth.toml;
            tasker_permission tasks:read;
            proxy_pass http://127.0.0.1:{self.port}/_backend;
        }}
        location = /_backend {{ return 200 "ok\\n"; }}
""", workers=1, connections=64), port=self.port, ready_path="/_backend")
        self.write_toml(GOOD.format(key="old-key-1234567890").encode())

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def write_toml(self, data):
        tmp = self.toml + ".new"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, self.toml)

    def test_reload_with_broken_toml_keeps_serving(self):
        old = {"X-API-Key": "old-key-1234567890"}
        new = {"X-API-Key": "new-key-1234567890"}
        self.server.start()
        master = self.server.master_pid()
        wait_for(lambda: get(self.port, old)[0] == 200, what="first answer")

        for name, data in BROKEN.items():
            with self.subTest(name):
                self.write_toml(data)
                t = self.server.cmd("-t")
                self.assertEqual(t.returncode, 1, t.stdout)
                self.assertIn(self.toml + ":", t.stdout)
                self.assertIn("tasker_auth_config", t.stdout)

                before = self.server.log().count("tasker_auth_config")
                os.kill(master, signal.SIGHUP)
                wait_for(lambda: self.server.log().count("tasker_auth_config") > before,
                         what="the reload error in the log")
                self.assertTrue(alive(master), "the master died on reload")
                self.assertEqual(self.server.master_pid(), master)
                self.assertEqual(get(self.port, old)[0], 200, "old configuration not serving")
                self.assertEqual(get(self.port, new)[0], 401)

        # A fixed file reloads as usual: the master is still fully working.
        self.write_toml(GOOD.format(key="new-key-1234567890").encode())
        self.assertEqual(self.server.cmd("-t").returncode, 0)
        os.kill(master, signal.SIGHUP)
        wait_for(lambda: get(self.port, new)[0] == 200, what="the new key")
        # The old worker may still accept a connection or two while it shuts down.
        wait_for(lambda: get(self.port, old)[0] == 401, what="the old key refused")
        self.assertTrue(alive(master))

        log = self.server.log()
        self.assertNotIn("exited on signal", log)
        self.assertNotIn("Assertion", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
