"""Shared by the t/system/ scripts: run an nginx with the module in a temporary prefix.

One copy of the plumbing the system tests need around a real nginx master; the checks stay in
the test scripts.

- `free_port()`: a free loopback TCP port;
- `http_get(port, path, headers=None, timeout=5)` -> (status, body, headers): one GET on
  127.0.0.1, a new connection each time;
- `alive(pid)`, `wait_for(predicate, seconds, what)`: process and polling helpers;
- `make_keys(dir)`, `mint(keys, specs)`: test keys and tokens from t/lib/tasker_tokens.py;
- `Nginx`: one prefix (logs/, conf/, tmp/) with one configuration file; `cmd(*args)` runs the
  binary on it (`nginx -t`, `-s reload`, ...), `start()` starts the master and waits until it is
  up, `stop()` ends it (SIGQUIT, then SIGKILL after a bounded wait), `log(name)` reads a file of
  logs/.

The environment, as `make test` and `make asan` set it (both through t/system/run.sh):

- TEST_NGINX_BINARY: the nginx binary (default /usr/sbin/nginx; `make asan` passes its ASan
  build);
- TEST_NGINX_MODULE: the module (default build/ngx_http_tasker_auth_module.so of this tree).

Every nginx started here inherits this process's environment unchanged, so ASAN_OPTIONS,
LSAN_OPTIONS, UBSAN_OPTIONS and TASKER_SANITIZER_REPORTS of `make asan` reach the master and its
workers. Debian's /usr/bin/python3 and its standard library only; loopback only.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NGINX = os.environ.get("TEST_NGINX_BINARY", "/usr/sbin/nginx")
MODULE = os.environ.get("TEST_NGINX_MODULE",
                        os.path.join(REPO, "build", "ngx_http_tasker_auth_module.so"))
TOKENS = os.path.join(REPO, "t", "lib", "tasker_tokens.py")
PYTHON = "/usr/bin/python3"


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def conf_text(port, server, workers=2, connections=256, log_level="info", main="", http=""):
    """An nginx.conf that loads the module, with logs/ and tmp/ under the prefix and one server
    on 127.0.0.1:<port> holding `server` (its locations). `main` and `http` add directives to
    those blocks (such as "daemon off;")."""
    return f"""
load_module {MODULE};
{main}
worker_processes {workers};
error_log logs/error.log {log_level};
pid logs/nginx.pid;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
{http}
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
{server}
    }}
}}
"""


def http_get(port, path, headers=None, timeout=5):
    """GET http://127.0.0.1:<port><path> on a new connection.

    Returns (status, body as str, response headers as an http.client.HTTPMessage). A refused,
    reset or timed-out connection raises (OSError, http.client.HTTPException): callers that
    count lost requests catch it themselves."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read().decode(), r.msg
    finally:
        conn.close()


def alive(pid):
    """Whether process pid exists and is not a zombie (a daemonized master is not our child, so
    it is reaped by whoever adopts it, perhaps late)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def wait_for(predicate, seconds=10, what="a condition", step=0.05):
    """Poll predicate() every step seconds until it is true; after `seconds` seconds, fail with
    AssertionError("timed out waiting for <what>") (unittest's failureException). Exceptions
    from predicate() propagate."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def make_keys(directory):
    """Test keys in directory (rsa-public.pem, jwks.json, ...: `tasker_tokens.py keys`)."""
    subprocess.run([PYTHON, TOKENS, "keys", directory], check=True)


def mint(keys, specs):
    """Tokens signed with the keys of make_keys(): {name: token} for {name: spec}
    (`tasker_tokens.py mint`, which documents the spec)."""
    out = subprocess.run([PYTHON, TOKENS, "mint", keys], input=json.dumps(specs).encode(),
                         stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)


class Nginx:
    """An nginx prefix with one configuration, and the master started on it.

    prefix: the directory (logs/, conf/ and tmp/ are created in it); its configuration is
    `nginx -p <prefix>/ -c <conf>`, which must name `pid logs/nginx.pid;` to be started.
    conf_text: written to conf (prefix/conf/nginx.conf unless conf names another file).
    port: where the server listens; start() then also waits for an HTTP answer there, to a GET
    of ready_path (any status; a path nginx answers without an [error] keeps the log quiet).
    args: more command-line options for every run (such as ["-e", "logs/error.log"]).
    wrapper: a command to start the master under (such as valgrind and its options); cmd()
    does not use it.
    timeout: the bound, in seconds, of the waits of start() and stop().

    A configuration with `daemon off;` is started with start(foreground=True): nginx is then a
    child of this process (self.proc), its stderr goes to logs/stderr.log."""

    def __init__(self, prefix, conf_text=None, conf=None, port=None, ready_path="/", args=(),
                 wrapper=(), timeout=10):
        self.prefix = prefix
        for d in ("logs", "conf", "tmp"):
            os.makedirs(os.path.join(prefix, d), exist_ok=True)
        self.conf = conf or os.path.join(prefix, "conf", "nginx.conf")
        if conf_text is not None:
            with open(self.conf, "w") as f:
                f.write(conf_text)
        self.port = port
        self.ready_path = ready_path
        self.args = list(args)
        self.wrapper = list(wrapper)
        self.timeout = timeout
        self.proc = None

    def argv(self, *args, conf=None):
        """The command line for this prefix and configuration (or conf), then args."""
        return [NGINX, "-p", self.prefix + "/", *self.args, "-c", conf or self.conf, *args]

    def cmd(self, *args, conf=None):
        """Run the nginx binary on this prefix with args (e.g. "-t", or "-s", "reload") and wait
        for it; returns the CompletedProcess, stdout and stderr together in .stdout (text)."""
        return subprocess.run(self.argv(*args, conf=conf), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace")

    def pidfile(self):
        return os.path.join(self.prefix, "logs", "nginx.pid")

    def master_pid(self):
        """The master's pid: the child's when started in the foreground, otherwise what the pid
        file says; None while there is no (readable) pid file."""
        if self.proc is not None:
            return self.proc.pid
        try:
            with open(self.pidfile()) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def answers(self, path=None, headers=None):
        """Whether the server on self.port answers a GET of path (default ready_path) at all,
        with any status."""
        try:
            http_get(self.port, path or self.ready_path, headers)
            return True
        except (OSError, http.client.HTTPException):
            return False

    def start(self, foreground=False, ready=None):
        """Start the master and return once it is up: the pid file exists, then ready() is true
        (by default: the server on self.port answers, when port was given). Raises
        AssertionError, with the error log, when nginx exits or is not up within self.timeout
        seconds."""
        if foreground:
            with open(os.path.join(self.prefix, "logs", "stderr.log"), "w") as err:
                self.proc = subprocess.Popen(self.wrapper + self.argv(),
                                             stdout=subprocess.DEVNULL, stderr=err)
        else:
            r = subprocess.run(self.wrapper + self.argv(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace")
            if r.returncode != 0:
                raise AssertionError("nginx failed to start:\n" + r.stdout)
        if ready is None and self.port is not None:
            ready = self.answers
        deadline = time.time() + self.timeout
        for what, done in (("its pid file", lambda: os.path.exists(self.pidfile())),
                           ("it to be ready", ready or (lambda: True))):
            while not done():
                if self.proc is not None and self.proc.poll() is not None:
                    raise AssertionError("nginx exited with %d:\n%s%s" % (
                        self.proc.returncode, self.log(), self.log("stderr.log")))
                if time.time() >= deadline:
                    raise AssertionError("nginx did not start (waiting for %s):\n%s%s" % (
                        what, self.log(), self.log("stderr.log")))
                time.sleep(0.05)

    def reload(self):
        """`nginx -s reload`, which checks the configuration first (a broken one is refused,
        not signalled: send SIGHUP to master_pid() for that). Returns the CompletedProcess."""
        return self.cmd("-s", "reload")

    def stop(self):
        """SIGQUIT (graceful shutdown) to the master; SIGKILL if it has not gone after
        self.timeout seconds. Nothing to do if it never started or has already gone."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGQUIT)
                try:
                    self.proc.wait(self.timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            return
        pid = self.master_pid()
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGQUIT)
        except ProcessLookupError:
            return
        deadline = time.time() + self.timeout
        while alive(pid):
            if time.time() >= deadline:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                return
            time.sleep(0.05)

    def log(self, name="error.log"):
        """The text of logs/<name> ("" if there is no such file yet)."""
        try:
            with open(os.path.join(self.prefix, "logs", name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""
