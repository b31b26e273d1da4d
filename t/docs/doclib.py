"""Shared by t/docs/quickstart.py and t/docs/examples.py: run documented shell commands as written.

The documents mark what to expect with a trailing comment, which a reader sees as a note and the
tests turn into a check:

    curl ... http://...     # 401          the HTTP status of the response (curl -i output)
    grpc ... http://...     # grpc-status: 16   a grpc-status line in the output

A 502, 503 or no answer (or grpc-status 14 or none) is retried for up to 5 s unless it is the
status expected (a gRPC check for up to 20 s: see expect_grpc): a person typing pauses between
starting nginx and calling it, and a JWKS gateway needs a moment for its first fetch.
"""
import os
import re
import socket
import subprocess
import sys

HTTP_CHECK = re.compile(r"^(curl\s.*?)\s+#\s*(\d{3})\s*$")
GRPC_CHECK = re.compile(r"^(grpc\s.*?)\s+#\s*grpc-status:\s*(\d+)\s*$")

_counts = {"passed": 0, "failed": 0}


def check(ok, desc, detail=""):
    if len(desc) > 120:  # long curl lines carry tokens
        desc = desc[:117] + "..."
    n = _counts["passed"] + _counts["failed"] + 1
    if ok:
        _counts["passed"] += 1
        print(f"ok {n} - {desc}")
    else:
        _counts["failed"] += 1
        print(f"not ok {n} - {desc}")
        for line in detail.rstrip().splitlines()[-40:]:
            print(f"#   {line}")
    sys.stdout.flush()


def summary():
    print(f"{_counts['passed']} passed, {_counts['failed']} failed")
    return 0 if _counts["failed"] == 0 else 1


def free_ports(n):
    """n distinct free TCP ports (bound and released; above the ports the documents use)."""
    ports, socks = [], []
    while len(ports) < n:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        socks.append(s)
        if port > 20000 and port not in ports:
            ports.append(port)
    for s in socks:
        s.close()
    return ports


def substitute_ports(text, ports):
    for old, new in ports.items():
        text = re.sub(rf"\b{old}\b", str(new), text)
    return text


def port_busy(port):
    s = socket.socket()
    try:
        return s.connect_ex(("127.0.0.1", port)) == 0
    finally:
        s.close()


def transform_line(line):
    """A documented shell line as the test runs it."""
    m = HTTP_CHECK.match(line)
    if m:
        return f"expect_status {m.group(2)} {m.group(1)}"
    m = GRPC_CHECK.match(line)
    if m:
        return f"expect_grpc {m.group(2)} {m.group(1)}"
    return line


# Shell functions for the generated scripts. QS_DIR is a scratch directory, QS_PIDFILE the nginx
# pid file the documented commands create; on exit the trap stops that nginx and $BACKEND or
# $BACKEND_PID, in case a scenario failed before its own stop step.
PRELUDE = r"""
set -e
set -o pipefail
LAST_RESPONSE=$QS_DIR/last-response
expect_status() {
    local want=$1 got i
    shift
    for i in $(seq 50); do
        "$@" >"$LAST_RESPONSE.raw" 2>"$LAST_RESPONSE.err" || true
        tr -d '\r' <"$LAST_RESPONSE.raw" >"$LAST_RESPONSE"
        got=$(awk 'NR == 1 && /^HTTP\// { print $2 }' "$LAST_RESPONSE")
        case $got in ""|502|503) [ "$want" = "$got" ] || { sleep 0.1; continue; } ;; esac
        break
    done
    if [ "$got" = "$want" ]; then
        echo "QS-OK $want: $*"
    else
        echo "QS-FAIL expected $want, got ${got:-no response}: $*"
        sed 's/^/QS-DETAIL /' "$LAST_RESPONSE" "$LAST_RESPONSE.err" | head -20
    fi
}
expect_grpc() {
    local want=$1 got i
    shift
    # Debian 12's curl 7.88 often fails a rejected call that carried a body with error 92 (README,
    # gRPC, Notes), printing no headers; under load nearly every attempt can, so try longer.
    for i in $(seq 200); do
        got=$("$@" 2>"$LAST_RESPONSE.err" | sed -n 's/^grpc-status: *\([0-9]*\).*/\1/p' | tail -n 1) || true
        case $got in ""|14) [ "$want" = "$got" ] || { sleep 0.1; continue; } ;; esac
        break
    done
    if [ "$got" = "$want" ]; then
        echo "QS-OK grpc-status $want: $*"
    else
        echo "QS-FAIL expected grpc-status $want, got ${got:-none}: $*"
        sed 's/^/QS-DETAIL /' "$LAST_RESPONSE.err" | head -20
    fi
}
expect_response() {
    local line missing=
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        grep -qiF -- "$line" "$LAST_RESPONSE" || missing="$missing [$line]"
    done <"$1"
    if [ -z "$missing" ]; then
        echo "QS-OK the documented response matches"
    else
        echo "QS-FAIL the last response lacks:$missing"
        sed 's/^/QS-DETAIL /' "$LAST_RESPONSE" | head -20
    fi
}
qs_cleanup() {
    local rc=$? pid
    set +e
    pid=$(cat "$QS_PIDFILE" 2>/dev/null)
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; fi
    for pid in ${BACKEND:-} ${BACKEND_PID:-}; do kill -TERM "$pid" 2>/dev/null; done
    exit "$rc"
}
trap qs_cleanup EXIT
"""


def run_script(script_path, cwd, env, timeout=120):
    """Runs a generated script with bash; returns (combined output, exit code), -1 on timeout."""
    try:
        proc = subprocess.run(["/bin/bash", script_path], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
        return proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        return (out.decode() if isinstance(out, bytes) else out), -1


def report(name, output, rc):
    """Turns a script's QS-* lines into checks; returns the list of statuses seen."""
    seen, detail = [], []
    for line in output.splitlines():
        if line.startswith("QS-OK "):
            check(True, f"{name}: {line[6:]}")
            m = re.match(r"QS-OK (grpc-status \d+|\d{3}):", line)
            if m:
                seen.append(m.group(1))
        elif line.startswith("QS-FAIL "):
            check(False, f"{name}: {line[8:]}", "\n".join(detail))
            detail = []
        elif line.startswith("QS-DETAIL "):
            print(f"#   {line[10:]}")
        else:
            detail.append(line)
    check(rc == 0 and "QS-DONE" in output, f"{name}: every command ran to the end (exit {rc})",
          output)
    return seen


# Passed through to the commands, so that `make asan` runs them with its sanitizer settings
# (suppressions for nginx's own reports, the report directory) like every other suite.
SANITIZER_VARS = ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TASKER_SANITIZER_REPORTS")


def base_env(bindir, home, qs_dir, pidfile):
    env = {
        "PATH": bindir + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "QS_DIR": qs_dir,
        "QS_PIDFILE": pidfile,
        "LANG": "C.UTF-8",
    }
    env.update({k: os.environ[k] for k in SANITIZER_VARS if k in os.environ})
    return env


def nginx_bindir(scratch):
    """A directory with `nginx` (TEST_NGINX_BINARY) for the front of PATH."""
    bindir = os.path.join(scratch, "bin")
    os.makedirs(bindir, exist_ok=True)
    os.symlink(os.environ.get("TEST_NGINX_BINARY", "/usr/sbin/nginx"),
               os.path.join(bindir, "nginx"))
    return bindir
