#!/usr/bin/python3
"""System tests that need a real master with several workers, signals or nginx -t output:

- `nginx -s reload` under traffic loses no request, and the counters survive it, summed over
  two workers;
- with two workers, one JWKS fetch per refresh (not one per worker), and a reload does not
  refetch;
- every conf-example passes `nginx -t` as shipped (with generated keys);
- `nginx -t` warns about API keys configured while tasker_api_keys_enabled is off.

Runs with Debian's /usr/bin/python3 (python3-jwt, python3-cryptography). Loopback only.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from nginxlib import MODULE, REPO, Nginx, conf_text, free_port, http_get, make_keys, mint


def metric(text, series):
    m = re.search(r"^" + re.escape(series) + r" (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


class SystemTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tasker-system-")
        os.chmod(cls.tmp, 0o755)  # workers run as nobody and serve jwks.json from here
        cls.keys = os.path.join(cls.tmp, "keys")
        make_keys(cls.keys)
        cls.tok = mint(cls.keys, {"reader": {"claims": {"permissions": ["tasks:read"]}},
                                  "kid": {"header": {"kid": "kid-rsa"}}})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def make(self, name, body, workers=2):
        port = free_port()
        conf = conf_text(port, """
        location /_backend { tasker_auth off; return 200 "ok\\n"; }
        location = /metrics { tasker_auth off; tasker_auth_metrics; }
""" + body.replace("PORT", str(port)).replace("KEYS", self.keys), workers=workers)
        n = Nginx(os.path.join(self.tmp, name), conf, port=port, ready_path="/_backend")
        self.addCleanup(n.stop)
        return n, port

    def test_reload_under_traffic_loses_no_request_and_keeps_counters(self):
        n, port = self.make("reload", """
        location = /t {
            tasker_auth on;
            tasker_jwt_public_key_path KEYS/rsa-public.pem;
            tasker_permission tasks:read;
            proxy_pass http://127.0.0.1:PORT/_backend;
        }
""")
        n.start()
        hdr = {"Authorization": "Bearer " + self.tok["reader"]}
        results = {"ok": 0, "bad": []}
        stop = threading.Event()
        lock = threading.Lock()

        def client():
            while not stop.is_set():
                try:
                    status, _, _ = http_get(port, "/t", hdr)
                except Exception as e:  # a refused or reset connection is a lost request
                    status = repr(e)
                with lock:
                    if status == 200:
                        results["ok"] += 1
                    else:
                        results["bad"].append(status)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for _ in range(5):
                time.sleep(0.8)
                r = n.reload()
                self.assertEqual(r.returncode, 0, r.stdout)
            time.sleep(0.8)
        finally:
            stop.set()
            for t in threads:
                t.join()

        self.assertEqual(results["bad"], [], "requests failed during reloads")
        self.assertGreater(results["ok"], 100)
        time.sleep(0.3)
        _, text, _ = http_get(port, "/metrics")
        self.assertEqual(metric(text, 'tasker_auth_requests_total{method="jwt",result="success"}'),
                         results["ok"], "counters must be summed over workers and survive reloads")
        self.assertEqual(metric(text, 'tasker_auth_jwt_verification_duration_milliseconds_count'
                                      '{result="success"}'), results["ok"])

    def test_one_jwks_fetch_per_refresh_with_two_workers(self):
        n, port = self.make("jwks", """
        location = /jwks.json {
            tasker_auth off;
            access_log logs/jwks.log;
            alias KEYS/jwks.json;
        }
        location = /t {
            tasker_auth on;
            tasker_jwt_verification_method jwks;
            tasker_jwks_refresh_interval 1s;
            tasker_jwks_url http://127.0.0.1:PORT/jwks.json;
            proxy_pass http://127.0.0.1:PORT/_backend;
        }
""")
        n.start()
        started = time.time()
        time.sleep(1.0)
        hdr = {"Authorization": "Bearer " + self.tok["kid"]}
        for _ in range(20):  # new connections spread over both workers
            self.assertEqual(http_get(port, "/t", hdr)[0], 200, n.log())
        r = n.reload()
        self.assertEqual(r.returncode, 0, r.stdout)
        time.sleep(3.2)
        for _ in range(20):
            self.assertEqual(http_get(port, "/t", hdr)[0], 200, n.log())
        elapsed = time.time() - started
        fetches = n.log("jwks.log").count("GET /jwks.json")
        # one fetch a second for the whole server, plus one for the first load; one per worker
        # would double it
        self.assertGreaterEqual(fetches, int(elapsed) - 2, n.log())
        self.assertLessEqual(fetches, int(elapsed) + 2, n.log())
        _, text, _ = http_get(port, "/metrics")
        refreshed = metric(text, 'tasker_auth_jwks_refresh_total{url="http://127.0.0.1:%d/jwks.json",'
                                 'result="success"}' % port)
        # the access log has the GET when nginx serves it; the fetching worker publishes (and
        # counts) it up to one polling step later, so one refresh may still be in flight, and an
        # old worker leaving at the reload drops a fetch it had started (served, never counted)
        self.assertIn(refreshed, (fetches - 2, fetches - 1, fetches), n.log())
        self.assertEqual(metric(text, 'tasker_auth_jwks_keys{url="http://127.0.0.1:%d/jwks.json"}'
                                % port), 3)

    def test_nginx_t_warns_about_keys_while_disabled(self):
        n, port = self.make("warn", """
        location = /t {
            tasker_auth on;
            tasker_jwt_public_key_path KEYS/rsa-public.pem;
            tasker_api_key "some-key-1234567890" "tasks:read" "svc";
            proxy_pass http://127.0.0.1:PORT/_backend;
        }
""")
        r = n.cmd("-t")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("tasker_api_key is configured but tasker_api_keys_enabled is off", r.stdout)
        self.assertNotIn("some-key-1234567890", r.stdout)

    def test_nginx_t_warns_about_unknown_toml_keys(self):
        # a key tasker may know and the module does not: a warning (tasker loads such files)
        toml = os.path.join(self.tmp, "auth-unknown.toml")
        with open(toml, "w") as f:
            f.write('[auth]\nenabled = true\njwt_public_key_path = "%s/rsa-public.pem"\n'
                    'session_store = "redis"\n' % self.keys)
        n, port = self.make("tomlwarn", """
        location = /t {
            tasker_auth_config %s;
            proxy_pass http://127.0.0.1:PORT/_backend;
        }
""" % toml)
        r = n.cmd("-t")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r'\[warn\].*tasker_auth_config: .*auth-unknown\.toml:4: '
                                   r'unknown key "session_store"')

    def test_nginx_t_fails_for_a_misspelled_toml_key(self):
        # a key within two edits of one the module reads is a typo: left, it would silently
        # keep the default (for "enable", tasker_auth off: every request passes)
        toml = os.path.join(self.tmp, "auth-typo.toml")
        with open(toml, "w") as f:
            f.write('[auth]\nenabled = true\njwt_public_key_path = "%s/rsa-public.pem"\n'
                    'jwt_isuer = "typo"\n' % self.keys)
        n, port = self.make("tomltypo", """
        location = /t {
            tasker_auth_config %s;
            proxy_pass http://127.0.0.1:PORT/_backend;
        }
""" % toml)
        r = n.cmd("-t")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(r.stdout, r'\[emerg\].*auth-typo\.toml:4: unknown key "jwt_isuer" '
                                   r'in \[auth\] \(did you mean "jwt_issuer"\?\)')

    def test_nginx_t_fails_for_https_jwks_without_a_system_ca_bundle(self):
        # Without tasker_jwks_ca_file, https JWKS endpoints are verified against the system CA
        # bundle, read at load: without one no fetch could ever succeed, so nginx -t fails. The
        # bundle is hidden in a private mount namespace (needs root; skipped without).
        bundle = "/etc/ssl/certs/ca-certificates.crt"
        if not os.path.isfile(bundle):
            self.skipTest("no %s" % bundle)
        probe = subprocess.run(["unshare", "-m", "true"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        if probe.returncode != 0:
            self.skipTest("unshare -m is not permitted here")
        n, port = self.make("nocas", """
        location = /t {
            tasker_auth on;
            tasker_jwt_verification_method jwks;
            tasker_jwks_url https://user:s3cret-pass@127.0.0.1:1/jwks.json;
            proxy_pass http://127.0.0.1:PORT/_backend;
        }
""")

        def hidden():
            script = ('mount --make-rprivate / && mount -t tmpfs tasker-test "$1" && shift && '
                      'exec "$@"')
            return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh",
                                   os.path.dirname(bundle), *n.argv("-t")],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  errors="replace")

        r = n.cmd("-t")
        self.assertEqual(r.returncode, 0, r.stdout)
        r = hidden()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('tasker_jwks_url "https://127.0.0.1:1/jwks.json" is verified against the '
                      'system CA bundle "%s", which cannot be read: No such file or directory; '
                      'install ca-certificates or set tasker_jwks_ca_file' % bundle, r.stdout)
        self.assertNotIn("s3cret-pass", r.stdout)
        ca = os.path.join(self.tmp, "own-ca.pem")
        shutil.copyfile(bundle, ca)
        with open(n.conf) as f:
            text = f.read()
        with open(n.conf, "w") as f:
            f.write(text.replace("http {", "http {\n    tasker_jwks_ca_file %s;" % ca, 1))
        r = hidden()
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_conf_examples_pass_nginx_t(self):
        examples = os.path.join(REPO, "conf-examples")
        confs = sorted(f for f in os.listdir(examples) if f.endswith(".conf"))
        self.assertTrue(confs)
        for name in confs:
            with self.subTest(conf=name):
                work = os.path.join(self.tmp, "examples")
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(examples, os.path.join(work, "conf"),
                                ignore=shutil.ignore_patterns("keys"))
                os.makedirs(os.path.join(work, "conf", "keys"))
                for k in ("jwt-public-key.pem",):
                    shutil.copy(os.path.join(self.keys, "rsa-public.pem"),
                                os.path.join(work, "conf", "keys", k))
                shutil.copy(os.path.join(self.keys, "jwks.json"),
                            os.path.join(work, "conf", "keys", "jwks.json"))
                for d in ("logs", "tmp", "modules"):
                    os.makedirs(os.path.join(work, d), exist_ok=True)
                os.symlink(MODULE, os.path.join(work, "modules",
                                                "ngx_http_tasker_auth_module.so"))
                r = Nginx(work, conf=os.path.join(work, "conf", name)).cmd("-t")
                self.assertEqual(r.returncode, 0, r.stdout)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed or not result.wasSuccessful() else 0)
