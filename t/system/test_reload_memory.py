#!/usr/bin/python3
"""Reload and memory (issue 10): 50 reloads (SIGHUP) of a master with two workers under light
traffic, with a broken TOML file and a broken key file in between.

- every request is answered, with the expected status, throughout;
- a reload with a broken file fails cleanly (an [emerg] naming the file, no new workers) and
  the old configuration keeps serving; the next good reload works;
- the RSS of the master and of the workers does not grow by more than a fixed bound from
  reloads 10-19 to reloads 41-50 (the first reloads still grow the heaps to their working size).

The reloads are sent as signals: `nginx -s reload` parses the configuration itself and would
refuse to signal a broken one.

RELOAD_VALGRIND=DIR runs the master (and so its workers) under valgrind's memcheck, logs in
DIR/vg.<pid>. The RSS bound is not checked then, nor under ASan (ASAN_OPTIONS set, make asan):
valgrind's and ASan's own memory (shadow, quarantine of freed blocks) dominate.
Runs with Debian's /usr/bin/python3. Loopback only.
"""
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

from nginxlib import MODULE, Nginx, conf_text, free_port, http_get, make_keys, mint

VALGRIND = os.environ.get("RELOAD_VALGRIND")

RELOADS = 50
WARMUP = 10          # RSS baseline after this many reloads
# Allowed RSS growth, in KiB, from the first ten samples (reloads 10-19) to the last ten
# (reloads 41-50), comparing the largest figure of each window: a worker that has not served a
# request yet is about 3 MiB smaller than one that has. Measured on Debian 12 (nginx 1.22,
# 2 workers, 10 runs): the master did not move at all (14128-14356 KiB, flat within each run),
# and the largest worker moved by at most 150 KiB (8560-8708 KiB). 512 KiB is over three times
# that noise, and still catches a leak of 13 KiB per reload: one leaked configuration, key set
# or TOML document per reload is more than that.
MAX_GROWTH_KIB = {"master": 512, "worker": 512}
# A valid TOML file, and a broken one that toml++ rejects with a parse error. (Some other
# broken files make toml++ 3.3.0 abort instead; they are issue 10's own tests.)
BROKEN_TOML = '[auth]\nenabled = true\njwt_allowed_algorithms = [1,\n'
BROKEN_PEM = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) if m else 0


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(d))
    return sorted(out)


class ReloadMemoryTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tasker-reload-")
        os.chmod(self.tmp, 0o755)
        self.keys = os.path.join(self.tmp, "keys")
        make_keys(self.keys)
        self.token = mint(self.keys,
                          {"reader": {"claims": {"permissions": ["tasks:read"]}}})["reader"]
        self.prefix = os.path.join(self.tmp, "nginx")
        wrapper = []
        if VALGRIND:
            os.makedirs(VALGRIND, exist_ok=True)
            wrapper = ["valgrind", "--tool=memcheck", "--leak-check=full",
                       "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
                       "--track-fds=no", "--child-silent-after-fork=no",
                       "--log-file=" + os.path.join(VALGRIND, "vg.%p")]
        # -e: what nginx logs before the configuration's error_log applies stays in the prefix
        self.nginx = Nginx(self.prefix, args=["-e", "logs/error.log"], wrapper=wrapper,
                           timeout=120 if VALGRIND else 10)
        self.pem = os.path.join(self.prefix, "conf", "jwt-public.pem")
        shutil.copy(os.path.join(self.keys, "rsa-public.pem"), self.pem)
        self.toml = os.path.join(self.prefix, "conf", "auth.toml")
        self.good_toml = ('[auth]\nenabled = true\njwt_public_key_path = "%s"\n'
                          'jwt_allowed_algorithms = ["RS256"]\n'
                          % os.path.join(self.keys, "rsa-public.pem"))
        self.write(self.toml, self.good_toml)
        self.port = free_port()
        self.write(self.nginx.conf, conf_text(self.port, f"""
        location /_backend {{ tasker_auth off; return 200 "ok\\n"; }}
        location = /toml {{
            tasker_auth_config {self.toml};
            tasker_permission tasks:read;
            proxy_pass http://127.0.0.1:{self.port}/_backend;
        }}
        location = /pem {{
            tasker_auth on;
            tasker_jwt_public_key_path {self.pem};
            tasker_permission tasks:read;
            proxy_pass http://127.0.0.1:{self.port}/_backend;
        }}
""", log_level="notice", main="daemon off;",
                                              http="    tasker_auth_success_log_level off;"))
        self.addCleanup(self.stop)
        # daemon off: the master is our child, self.nginx.proc
        self.nginx.start(foreground=True,
                         ready=lambda: len(children(self.nginx.master_pid())) >= 2
                         and self.answers())

    def stop(self):
        self.nginx.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def write(path, text):
        with open(path + ".new", "w") as f:
            f.write(text)
        os.rename(path + ".new", path)

    def log(self, name="error.log"):
        return self.nginx.log(name)

    def answers(self):
        try:
            return self.get("/pem") == 200
        except OSError:
            return False

    def get(self, path):
        return http_get(self.port, path, {"Authorization": "Bearer " + self.token},
                        timeout=30 if VALGRIND else 5)[0]

    def reload(self, expect_ok):
        """SIGHUP, then wait until the master has logged the outcome and, after a good
        reload, the old workers have gone. Returns the new log text."""
        log = self.log()
        start = len(log)
        old = set(children(self.nginx.master_pid()))
        os.kill(self.nginx.master_pid(), signal.SIGHUP)
        deadline = time.time() + (120 if VALGRIND else 15)
        while True:
            self.assertLess(time.time(), deadline, "reload did not finish:\n" + self.log()[start:])
            new = self.log()[start:]
            kids = set(children(self.nginx.master_pid()))
            if expect_ok and len(re.findall(r"start worker process", new)) >= 2 \
                    and not (kids & old) and len(kids) == 2:
                return new
            if not expect_ok and "[emerg]" in new:
                return new
            time.sleep(0.05)

    def sample(self):
        master = rss_kib(self.nginx.master_pid())
        workers = [rss_kib(p) for p in children(self.nginx.master_pid())]
        return master, max(workers)

    def test_50_reloads_with_broken_files_in_between(self):
        results = {"ok": 0, "bad": []}
        stop = threading.Event()
        lock = threading.Lock()

        def client(path):
            while not stop.is_set():
                try:
                    status = self.get(path)
                except Exception as e:  # a refused or reset connection is a lost request
                    status = repr(e)
                with lock:
                    if status == 200:
                        results["ok"] += 1
                    else:
                        results["bad"].append((path, status))
                time.sleep(0.02)

        threads = [threading.Thread(target=client, args=(p,)) for p in ("/toml", "/pem")]
        for t in threads:
            t.start()
        samples = []
        broken = {"toml": 0, "pem": 0}
        try:
            for i in range(1, RELOADS + 1):
                if i % 10 == 4:    # a broken TOML file: the reload fails, the old config serves
                    self.write(self.toml, BROKEN_TOML)
                    new = self.reload(expect_ok=False)
                    self.assertIn(self.toml, new)
                    self.assertNotIn("start worker process", new)
                    broken["toml"] += 1
                    self.write(self.toml, self.good_toml)
                elif i % 10 == 8:  # a broken key file, likewise
                    self.write(self.pem, BROKEN_PEM)
                    new = self.reload(expect_ok=False)
                    self.assertIn(self.pem, new)
                    self.assertNotIn("start worker process", new)
                    broken["pem"] += 1
                    shutil.copy(os.path.join(self.keys, "rsa-public.pem"), self.pem)
                else:
                    self.reload(expect_ok=True)
                self.assertIsNone(self.nginx.proc.poll(), "the master exited:\n" + self.log())
                if i >= WARMUP:
                    samples.append(self.sample())
        finally:
            stop.set()
            for t in threads:
                t.join()

        self.assertEqual(broken, {"toml": 5, "pem": 5})
        self.assertEqual(results["bad"], [], "requests failed during reloads")
        self.assertGreater(results["ok"], 20 if VALGRIND else 100)
        for path in ("/toml", "/pem"):
            self.assertEqual(self.get(path), 200)
        masters = [m for m, _ in samples]
        workers = [w for _, w in samples]
        print("reload_memory: %d reloads, %d requests; largest RSS (KiB) in the first and the "
              "last ten samples: master %d -> %d, worker %d -> %d"
              % (RELOADS, results["ok"], max(masters[:10]), max(masters[-10:]),
                 max(workers[:10]), max(workers[-10:])), file=sys.stderr)
        if not VALGRIND and "ASAN_OPTIONS" not in os.environ:
            # a worker that has not served a request yet is ~3 MiB smaller, so compare the
            # largest figures of the first and the last ten samples
            for name, series in (("master", masters), ("worker", workers)):
                growth = max(series[-10:]) - max(series[:10])
                self.assertLessEqual(growth, MAX_GROWTH_KIB[name], (name, series))

    def test_broken_key_file_error_names_no_stale_errno(self):
        # The file exists and is readable; only its content is wrong: the [emerg] must not end
        # with an errno left over from an earlier call, such as "(2: No such file or directory)".
        self.write(self.pem, BROKEN_PEM)
        conf = os.path.join(self.prefix, "conf", "key-only.conf")
        self.write(conf, f"""
load_module {MODULE};
events {{ }}
http {{ server {{ listen 127.0.0.1:{self.port};
    location / {{ tasker_auth on; tasker_jwt_public_key_path {self.pem}; }} }} }}
""")
        r = self.nginx.cmd("-t", conf=conf)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(self.pem, r.stdout)
        self.assertNotIn("No such file or directory", r.stdout)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    print(f"{result.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed or not result.wasSuccessful() else 0)
