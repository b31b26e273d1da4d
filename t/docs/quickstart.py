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
`Nb` step with that step in place of step `N`. Each scenario starts from nothing, in the
repository root (TEST_NGINX_REPO).

What the test changes, and nothing else:
  - HOME is a scratch directory (so `~/tasker-gateway` is scratch), and PATH starts with a
    directory holding `nginx` (TEST_NGINX_BINARY).
  - Ports: 8080 and 18080, wherever they appear in a block, become free ports (the machine may
    be running other gateways).
  - The `make` line is skipped: `make test` has built everything already.
  - `curl ...  # NNN` lines become checks of the response status (see t/docs/doclib.py).
  - A trap stops what the blocks started if a scenario fails halfway.
After each scenario it checks that the Stop step left no nginx and nothing on the ports.

The last line is "N passed, M failed"; the exit status is non-zero when anything failed.
"""
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doclib  # noqa: E402
from doclib import check  # noqa: E402

REPO = os.environ.get("TEST_NGINX_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

MARK = re.compile(r"^<!-- quickstart: (run|file (\S+)|response) -->\s*$")
STEP = re.compile(r"^\*\*(\d+)(b?)\.")
FENCE = re.compile(r"^```")


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


def scenario_script(blocks, qs_dir, ports):
    out = [doclib.PRELUDE]
    for n, (step, kind, arg, text) in enumerate(blocks, 1):
        text = doclib.substitute_ports(text, ports)
        out.append(f'echo "QS-BLOCK {n} (step {step}, {kind}{" " + arg if arg else ""})"')
        if kind == "file":
            delim = "QS_EOF_%d" % n  # a quoted heredoc: the block is saved byte for byte
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
                else:
                    out.append(doclib.transform_line(line))
    out.append('echo "QS-DONE"')
    return "\n".join(out) + "\n"


def run_scenario(name, blocks):
    scratch = tempfile.mkdtemp(prefix="tasker-quickstart.")
    os.chmod(scratch, 0o755)  # nginx workers (nobody, when run as root) use tmp/ below it
    home = os.path.join(scratch, "home")
    qs_dir = os.path.join(scratch, "qs")
    for d in (home, qs_dir):
        os.makedirs(d)
    os.chmod(home, 0o755)
    bindir = doclib.nginx_bindir(scratch)
    p_gateway, p_backend = doclib.free_ports(2)
    script = scenario_script(blocks, qs_dir, {18080: p_backend, 8080: p_gateway})
    with open(os.path.join(qs_dir, "script.sh"), "w") as f:
        f.write(script)
    pidfile = os.path.join(home, "tasker-gateway", "logs", "nginx.pid")
    env = doclib.base_env(bindir, home, qs_dir, pidfile)
    output, rc = doclib.run_script(os.path.join(qs_dir, "script.sh"), REPO, env)
    seen = doclib.report(name, output, rc)
    for want in ("401", "403", "200"):
        check(want in seen, f"{name}: the Quick Start shows a {want}")

    # The Stop step must have stopped everything (the trap would hide a missing step).
    for _ in range(50):
        if not os.path.exists(pidfile):
            break
        time.sleep(0.1)
    check(not os.path.exists(pidfile), f"{name}: the Stop step stops nginx (no pid file left)")
    for p in (p_gateway, p_backend):
        check(not doclib.port_busy(p), f"{name}: nothing listens on port {p} after the Stop step")
    shutil.rmtree(scratch, ignore_errors=True)


def main():
    with open(os.path.join(REPO, "README.md")) as f:
        blocks = quickstart_blocks(f.read())
    kinds = {b[1] for b in blocks}
    check(len(blocks) >= 5 and {"run", "file"} <= kinds,
          f"README.md's Quick Start has marked blocks ({len(blocks)} found)")
    if not blocks:
        return doclib.summary()
    steps = [b[0] for b in blocks]
    check(None not in steps, "every marked block follows a numbered step heading")
    alternatives = sorted({s for s in steps if s and s.endswith("b")})
    run_scenario("Quick Start", [b for b in blocks if not (b[0] or "").endswith("b")])
    for alt in alternatives:
        base = alt[:-1]
        chosen = [b for b in blocks
                  if b[0] != base and not ((b[0] or "").endswith("b") and b[0] != alt)]
        run_scenario(f"Quick Start with step {alt} instead of {base}", chosen)
    return doclib.summary()


if __name__ == "__main__":
    sys.exit(main())
