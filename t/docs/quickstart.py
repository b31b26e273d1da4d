#!/usr/bin/python3
"""Runs the README's Quick Start exactly as written, so the README cannot drift from the code.

    /usr/bin/python3 t/docs/quickstart.py        (run by `make test`)

Extraction. Every Quick Start block the reader is told to run or save is preceded in README.md by
an HTML comment (invisible on GitHub):

    <!-- quickstart: run -->                 a shell block, run in order in one bash session
    <!-- quickstart: file NAME -->           a file to save as NAME (in the current directory)
    <!-- quickstart: response -->            the response of the last curl: every line must appear

Each block belongs to the step whose bold heading (`**4.`, `**4b.`) precedes it. A step `Nb` is an
alternative to step `N`: the test runs one scenario with every plain step, and one scenario per
`Nb` step with that step in place of step `N`. Each scenario starts from nothing.

What the test changes, and nothing else:
  - HOME is a scratch directory (so `~/tasker-gateway` is scratch), and PATH starts with a
    directory holding `nginx` (TEST_NGINX_BINARY).
  - Ports: 8080 and 18080, wherever they appear in a block, become free ports (the machine may
    be running other gateways).
  - The `make` line is skipped: `make test` has built everything already.
  - A shell line `curl ...  # NNN` runs as a check that the response status is NNN; a 502 or no
    answer is retried for up to 5 s (a person typing pauses between steps).
  - A trap stops what the blocks started if a scenario fails halfway.

The last line is "N passed, M failed"; the exit status is non-zero when anything failed.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.environ.get("TEST_NGINX_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
NGINX = os.environ.get("TEST_NGINX_BINARY", "/usr/sbin/nginx")

MARK = re.compile(r"^<!-- quickstart: (run|file (\S+)|response) -->\s*$")
STEP = re.compile(r"^\*\*(\d+)(b?)\.")
FENCE = re.compile(r"^```")
STATUS_LINE = re.compile(r"^(curl\s.*?)\s+#\s*(\d{3})\s*$")

passed = 0
failed = 0


def check(ok, desc, detail=""):
    global passed, failed
    if len(desc) > 120:  # long curl lines carry tokens
        desc = desc[:117] + "..."
    if ok:
        passed += 1
        print(f"ok {passed + failed} - {desc}")
    else:
        failed += 1
        print(f"not ok {passed + failed} - {desc}")
        for line in detail.rstrip().splitlines()[-40:]:
            print(f"#   {line}")
    sys.stdout.flush()


def quickstart_blocks(readme):
    """[(step, kind, arg, text)] of the marked blocks of the Quick Start section."""
    lines = readme.split("\n")
    try:
        start = lines.index("## Quick Start")
    except ValueError:
        return []
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    blocks, step, i = [], None, start + 1
    while i < end:
        m = STEP.match(lines[i])
        if m:
            step = m.group(1) + m.group(2)
        mark = MARK.match(lines[i])
        if mark:
            j = i + 1
            if j >= end or not FENCE.match(lines[j]):
                raise SystemExit(f"README.md:{i + 1}: a quickstart marker must be followed by a fence")
            k = next((k for k in range(j + 1, end) if FENCE.match(lines[k])), None)
            if k is None:
                raise SystemExit(f"README.md:{j + 1}: unterminated code block")
            kind = mark.group(1).split()[0]
            blocks.append((step, kind, mark.group(2), "\n".join(lines[j + 1:k]) + "\n"))
            i = k
        i += 1
    return blocks


def free_port(avoid):
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in avoid and port > 20000:
            return port


PRELUDE = r"""
set -e
set -o pipefail
LAST_RESPONSE=$QS_DIR/last-response
# expect_status NNN curl ...: runs the curl, compares the response status with NNN.
expect_status() {
    local want=$1 got i
    shift
    for i in $(seq 50); do
        "$@" >"$LAST_RESPONSE.raw" 2>"$LAST_RESPONSE.err" || true
        tr -d '\r' <"$LAST_RESPONSE.raw" >"$LAST_RESPONSE"
        got=$(awk 'NR == 1 && /^HTTP\// { print $2 }' "$LAST_RESPONSE")
        case $got in ""|502) [ "$want" = "$got" ] || { sleep 0.1; continue; } ;; esac
        break
    done
    if [ "$got" = "$want" ]; then
        echo "QS-OK $want: $*"
    else
        echo "QS-FAIL expected $want, got ${got:-no response}: $*"
        sed 's/^/QS-DETAIL /' "$LAST_RESPONSE" "$LAST_RESPONSE.err" | head -20
    fi
}
# expect_response FILE: every non-empty line of FILE appears in the last response (header names
# compared case-insensitively).
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
    pid=$(cat "$HOME/tasker-gateway/logs/nginx.pid" 2>/dev/null)
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; fi
    if [ -n "${BACKEND_PID:-}" ]; then kill -TERM "$BACKEND_PID" 2>/dev/null; fi
    exit "$rc"
}
trap qs_cleanup EXIT
"""


def scenario_script(blocks, qs_dir, ports):
    out = [PRELUDE]
    n = 0
    for step, kind, arg, text in blocks:
        for old, new in ports.items():
            text = re.sub(rf"\b{old}\b", str(new), text)
        n += 1
        out.append(f'echo "QS-BLOCK {n} (step {step}, {kind}{" " + arg if arg else ""})"')
        if kind == "file":
            # A quoted heredoc: the block is saved byte for byte.
            delim = "QS_EOF_%d" % n
            out.append(f"cat > {arg} <<'{delim}'\n{text}{delim}")
        elif kind == "response":
            path = os.path.join(qs_dir, f"response-{n}")
            with open(path, "w") as f:
                f.write(text)
            out.append(f"expect_response {path}")
        else:
            for line in text.splitlines():
                if re.match(r"^make(\s|$)", line):
                    out.append(f"# skipped: {line}")
                    continue
                m = STATUS_LINE.match(line)
                out.append(f"expect_status {m.group(2)} {m.group(1)}" if m else line)
    out.append('echo "QS-DONE"')
    return "\n".join(out) + "\n"


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive: it only waits for its parent.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def run_scenario(name, blocks):
    scratch = tempfile.mkdtemp(prefix="tasker-quickstart.")
    os.chmod(scratch, 0o755)  # nginx workers (nobody, when run as root) read tmp/ under it
    home = os.path.join(scratch, "home")
    qs_dir = os.path.join(scratch, "qs")
    bindir = os.path.join(scratch, "bin")
    for d in (home, qs_dir, bindir):
        os.makedirs(d)
    os.chmod(home, 0o755)
    os.symlink(NGINX, os.path.join(bindir, "nginx"))
    p1 = free_port(())
    p2 = free_port((p1,))
    script = scenario_script(blocks, qs_dir, {18080: p2, 8080: p1})
    with open(os.path.join(qs_dir, "script.sh"), "w") as f:
        f.write(script)
    env = {
        "PATH": bindir + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": home,
        "QS_DIR": qs_dir,
        "LANG": "C.UTF-8",
    }
    try:
        proc = subprocess.run(["/bin/bash", os.path.join(qs_dir, "script.sh")], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=120)
        output, rc = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as e:
        output, rc = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), -1
    statuses = []
    detail = []
    for line in output.splitlines():
        if line.startswith("QS-OK "):
            check(True, f"{name}: {line[6:]}")
            m = re.match(r"QS-OK (\d{3}):", line)
            if m:
                statuses.append(m.group(1))
        elif line.startswith("QS-FAIL "):
            check(False, f"{name}: {line[8:]}", "\n".join(detail))
            detail = []
        elif line.startswith("QS-DETAIL "):
            print(f"#   {line[10:]}")
        else:
            detail.append(line)
    check(rc == 0 and "QS-DONE" in output, f"{name}: every block ran to the end (exit {rc})", output)
    for want in ("401", "403", "200"):
        check(want in statuses, f"{name}: the Quick Start shows a {want}")

    # Step "Stop" must have stopped everything; the trap would hide it, so look before cleaning.
    pidfile = os.path.join(home, "tasker-gateway", "logs", "nginx.pid")
    gone = True
    for _ in range(50):
        gone = not os.path.exists(pidfile)
        if gone:
            break
        time.sleep(0.1)
    check(gone, f"{name}: the Stop step stops nginx (no pid file left)")
    for p in (p1, p2):
        s = socket.socket()
        busy = s.connect_ex(("127.0.0.1", p)) == 0
        s.close()
        check(not busy, f"{name}: nothing listens on port {p} after the Stop step")
    shutil.rmtree(scratch, ignore_errors=True)


def main():
    with open(os.path.join(REPO, "README.md")) as f:
        blocks = quickstart_blocks(f.read())
    kinds = {b[1] for b in blocks}
    check(len(blocks) >= 5 and {"run", "file"} <= kinds,
          f"README.md's Quick Start has marked blocks ({len(blocks)} found)")
    if not blocks:
        print(f"{passed} passed, {failed} failed")
        return 1
    steps = [b[0] for b in blocks]
    check(None not in steps, "every marked block follows a numbered step heading")
    alternatives = sorted({s for s in steps if s and s.endswith("b")})
    plain = [b for b in blocks if not (b[0] or "").endswith("b")]
    run_scenario("Quick Start", plain)
    for alt in alternatives:
        base = alt[:-1]
        chosen = []
        for b in blocks:
            if b[0] == base:
                continue
            if b[0].endswith("b") and b[0] != alt:
                continue
            chosen.append(b)
        run_scenario(f"Quick Start with step {alt} instead of {base}", chosen)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
