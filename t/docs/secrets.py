#!/usr/bin/python3
"""No README example authenticates a key that is published in this repository.

    /usr/bin/python3 t/docs/secrets.py        (run by `make test`)

A reader copies configuration from the README. If an example's `sha256:` digest is the hash of a
string that appears anywhere in the repository (a demo key in conf-examples/, a test fixture),
the copied configuration accepts a key anyone can read. So:

  1. Every `sha256:<64 hex>` in README.md must not be the SHA-256 of any word of any text file of
     the repository (words: runs of key-like characters, with and without surrounding quotes).
  2. Every plain (non-sha256) key in a README `tasker_api_key` line or TOML `key = "..."` entry
     must be a placeholder (`<...>` or `${...}`), never a literal key.
  3. A conf-example that does carry the digest of a published word must say so (a "published"
     demo-key warning), as conf-examples/api-keys.conf does.

The last line is "N passed, M failed".
"""
import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doclib  # noqa: E402
from doclib import check  # noqa: E402

REPO = os.environ.get("TEST_NGINX_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SKIP_DIRS = {".git", "build", "__pycache__", "keys"}
DIGEST = re.compile(r"sha256:([0-9a-fA-F]{64})\b")
WORD = re.compile(r"[A-Za-z0-9._~+/=:@!#%^&*?-]{4,}")


def repo_texts():
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith("servroot")]
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    data = f.read(4 << 20)
            except OSError:
                continue
            if b"\0" in data:
                continue
            yield os.path.relpath(path, REPO), data.decode("utf-8", "replace")


def published_digests():
    """{sha256 hex of a word: (file, word)} over every word of every text file."""
    words = {}
    for rel, text in repo_texts():
        for w in WORD.findall(text):
            for v in {w, w.strip(".,:;!?"), w.strip("'\"")}:
                words.setdefault(v, rel)
        for q in re.findall(r"[\"']([^\"'\n]{1,200})[\"']", text):  # quoted strings, spaces and all
            words.setdefault(q, rel)
    return {hashlib.sha256(w.encode()).hexdigest(): (rel, w) for w, rel in words.items()}


def main():
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    published = published_digests()
    check(len(published) > 1000, f"indexed the repository's words ({len(published)})")

    digests = DIGEST.findall(readme)
    for d in sorted(set(x.lower() for x in digests)):
        hit = published.get(d)
        check(hit is None, f"README digest sha256:{d[:12]}... is not the hash of a published string",
              f"it is sha256 of {hit[1]!r}, which appears in {hit[0]}" if hit else "")

    plain = []
    for m in re.finditer(r"^\s*tasker_api_key\s+(\S+)", readme, re.M):
        if not m.group(1).startswith("sha256:"):
            plain.append(m.group(1))
    for m in re.finditer(r'^\s*key\s*=\s*"([^"]*)"', readme, re.M):
        if not m.group(1).startswith("sha256:"):
            plain.append(m.group(1))
    for key in plain:
        check(bool(re.search(r"<[^>]+>|\$\{[^}]+\}|^KEY$", key)),
              f"README plain key {key!r} is a placeholder, not a literal key")
    examples = os.path.join(REPO, "conf-examples")
    for name in sorted(os.listdir(examples)):
        if not name.endswith(".conf"):
            continue
        with open(os.path.join(examples, name)) as f:
            text = f.read()
        hits = [published[d.lower()] for d in DIGEST.findall(text) if d.lower() in published]
        if hits:
            check(re.search(r"published", text, re.I) is not None,
                  f"conf-examples/{name}: its demo keys ({', '.join(sorted({w for _, w in hits}))}) "
                  "carry a 'published' warning")
    return doclib.summary()


if __name__ == "__main__":
    sys.exit(main())
