#!/usr/bin/python3
"""Runs every conf-examples/*.conf the way its own header comment says.

    /usr/bin/python3 t/docs/examples.py [NAME.conf ...]      (run by `make test`)

Each example's header holds a "run it" block: the comment lines from `#   REPO=$PWD` up to the
next bare `#` line, with `#   ` stripped (continuation lines keep their indentation). The test
runs that block in bash, as written, with these documented differences only:

  - The repository is a scratch mirror, so nothing is written into this checkout (the header
    generates conf-examples/keys and fills build/demo): `conf-examples/` holds copies of the
    examples, `build/` links to the module and tasker-ctl under test (TEST_NGINX_MODULE,
    TEST_NGINX_CLI), `scripts/` and `t/grpc/` link to this checkout's. The block runs from the
    mirror's root, where the header says to run it.
  - Ports: every port the examples use (8080, 8081, 8090, 9190, 9191 and the upstreams 18080,
    18081, 19190, 19191) becomes a free port, in the copied configuration and in the commands
    alike, so the test never collides with a running demo or another gateway.
  - PATH starts with a directory holding `nginx` (TEST_NGINX_BINARY); HOME is scratch.
  - `curl ... # NNN` and `grpc ... # grpc-status: N` lines become checks (t/docs/doclib.py).
  - A trap stops what the block started if it fails halfway.

Every example must show a public health check answering 200 (grpc-status 0), a 401 (16) and an
authenticated call getting through the gateway (200, or a grpc-status nginx never sends); afterwards its nginx must be gone (the header's stop command) and
its ports free. The last line is "N passed, M failed".
"""
import glob
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
MODULE = os.environ.get("TEST_NGINX_MODULE") or os.path.join(
    REPO, "build", "ngx_http_tasker_auth_module.so")
CLI = os.environ.get("TEST_NGINX_CLI") or os.path.join(REPO, "build", "tasker-ctl")
EXAMPLE_PORTS = (8080, 8081, 8090, 9190, 9191, 18080, 18081, 19190, 19191)


def run_block(conf_text):
    """The header's run-it commands, or None."""
    lines = conf_text.split("\n")
    start = next((i for i, l in enumerate(lines) if l.startswith("#   REPO=")), None)
    if start is None:
        return None
    out = []
    for line in lines[start:]:
        if line.rstrip() == "#" or not line.startswith("#"):
            break
        if not line.startswith("#   "):
            return None  # not a command block
        out.append(line[4:])
    return "\n".join(out) + "\n"


def make_mirror(scratch, ports):
    mirror = os.path.join(scratch, "repo")
    os.makedirs(os.path.join(mirror, "conf-examples"))
    os.makedirs(os.path.join(mirror, "build"))
    os.makedirs(os.path.join(mirror, "t"))
    for path in glob.glob(os.path.join(REPO, "conf-examples", "*.conf")):
        with open(path) as f:
            text = doclib.substitute_ports(f.read(), ports)
        with open(os.path.join(mirror, "conf-examples", os.path.basename(path)), "w") as f:
            f.write(text)
    os.symlink(MODULE, os.path.join(mirror, "build", "ngx_http_tasker_auth_module.so"))
    os.symlink(CLI, os.path.join(mirror, "build", "tasker-ctl"))
    os.symlink(os.path.join(REPO, "scripts"), os.path.join(mirror, "scripts"))
    os.symlink(os.path.join(REPO, "t", "grpc"), os.path.join(mirror, "t", "grpc"))
    return mirror


def pid_file(conf_text, mirror):
    m = re.search(r"^pid\s+(\S+);", conf_text, re.M)
    return os.path.join(mirror, "build", "demo", m.group(1)) if m else None


def run_example(path):
    name = os.path.basename(path)
    with open(path) as f:
        conf = f.read()
    block = run_block(conf)
    check(block is not None, f"{name}: the header has a run-it block (#   REPO=$PWD ...)")
    if block is None:
        return
    for what, pattern in (
        ("makes logs/, tmp/ and modules/ in the prefix", r'mkdir -p "\$PREFIX"/logs "\$PREFIX"/tmp "\$PREFIX"/modules'),
        ("links the module into the prefix", r"ln -sf .*ngx_http_tasker_auth_module\.so"),
        ("starts nginx with -p and -c", rf'nginx -p "\$PREFIX" -c "\$REPO"/conf-examples/{re.escape(name)}\n'),
        ("stops nginx", rf'nginx -p "\$PREFIX" -c "\$REPO"/conf-examples/{re.escape(name)} -s quit'),
    ):
        check(re.search(pattern, block) is not None, f"{name}: the header {what}")

    scratch = tempfile.mkdtemp(prefix="tasker-examples.")
    os.chmod(scratch, 0o755)  # nginx workers (nobody, when run as root) use the prefix below it
    home = os.path.join(scratch, "home")
    qs_dir = os.path.join(scratch, "qs")
    os.makedirs(home)
    os.makedirs(qs_dir)
    ports = dict(zip(EXAMPLE_PORTS, doclib.free_ports(len(EXAMPLE_PORTS))))
    mirror = make_mirror(scratch, ports)
    script = [doclib.PRELUDE]
    for line in doclib.substitute_ports(block, ports).splitlines():
        script.append(doclib.transform_line(line))
    script.append('echo "QS-DONE"')
    script_path = os.path.join(qs_dir, "script.sh")
    with open(script_path, "w") as f:
        f.write("\n".join(script) + "\n")
    pidfile = pid_file(conf, mirror)
    env = doclib.base_env(doclib.nginx_bindir(scratch), home, qs_dir, pidfile or "")
    output, rc = doclib.run_script(script_path, mirror, env)
    seen = doclib.report(name, output, rc)

    grpc = "grpc_pass" in conf
    ok, denied = ("grpc-status 0", "grpc-status 16") if grpc else ("200", "401")
    health = re.search(r"^(curl|grpc) .*[Hh]ealth.*#\s*(200|grpc-status: 0)\s*$", block, re.M)
    check(health is not None and ok in seen, f"{name}: the header checks a public health endpoint")
    check(denied in seen, f"{name}: the header shows a request without credentials refused ({denied})")
    # Passing the gateway: HTTP 200, or any grpc-status nginx itself never sends (7, 14 and 16 are
    # its rejections; a stand-in without the method answers 12).
    passed = set()
    for line in block.splitlines():
        if not re.search(r"(Bearer|X-API-Key: tasker-)", line):
            continue
        m = re.search(r"#\s*(200|grpc-status: (\d+))\s*$", line)
        if m and m.group(2) not in ("7", "14", "16"):
            passed.add(m.group(1).replace(":", ""))
    check(bool(passed & set(seen)), f"{name}: the header shows an authenticated request passing the gateway")

    if pidfile:
        for _ in range(50):
            if not os.path.exists(pidfile):
                break
            time.sleep(0.1)
        check(not os.path.exists(pidfile), f"{name}: the header's stop command stops nginx")
    busy = [p for p in ports.values() if doclib.port_busy(p)]
    check(not busy, f"{name}: nothing is left listening afterwards {busy or ''}")
    shutil.rmtree(scratch, ignore_errors=True)


def main(argv):
    paths = sorted(glob.glob(os.path.join(REPO, "conf-examples", "*.conf")))
    if argv:
        paths = [p for p in paths if os.path.basename(p) in argv]
    check(bool(paths), f"conf-examples/*.conf found ({len(paths)})")
    for p in paths:
        run_example(p)
    return doclib.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
