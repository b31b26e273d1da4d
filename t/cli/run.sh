#!/usr/bin/env bash
# Tests for tasker-ctl (SPEC 7 and the "CLI" rules of SPEC 8).
#
# Environment (set by `make test`):
#   TEST_NGINX_CLI     tasker-ctl binary (default: build/tasker-ctl of this checkout)
#   TEST_NGINX_BINARY  nginx used as a throwaway HTTP server for `task list` (default /usr/sbin/nginx)
#   TEST_NGINX_MODULE  the module .so; when it exists, a token round trip through the module runs too
#
# Keys are generated at test time in a mktemp directory that is removed on exit. Python checks use
# /usr/bin/python3 (python3-jwt, python3-cryptography) as an independent JWT implementation.
# The last line is "N passed, M failed"; the exit status is non-zero when anything failed.

# The checks pass shell snippets in single quotes to `all`, which evaluates them later on purpose.
# shellcheck disable=SC2016

set -u

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CLI=${TEST_NGINX_CLI:-$REPO/build/tasker-ctl}
NGINX=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
MODULE=${TEST_NGINX_MODULE:-$REPO/build/ngx_http_tasker_auth_module.so}
PY=/usr/bin/python3

if [ ! -x "$CLI" ]; then
    echo "tasker-ctl not found at $CLI (build it with: make build/tasker-ctl)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

TMP=$(mktemp -d /tmp/tasker-cli-test.XXXXXX)
NGINX_PIDS=()
cleanup() {
    local pid
    for pid in "${NGINX_PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASSED=0
FAILED=0
OUT='' ERR='' RC=''
LAST_CMD=

# ---- harness -------------------------------------------------------------------------------------

# run CMD...: runs with stdin from /dev/null; sets OUT, ERR and RC.
run() {
    LAST_CMD="$*"
    "$@" >"$TMP/.out" 2>"$TMP/.err" </dev/null
    RC=$?
    OUT=$(cat "$TMP/.out")
    ERR=$(cat "$TMP/.err")
}

# run_in INPUT CMD...: like run, with INPUT (verbatim) on stdin.
run_in() {
    local input=$1
    shift
    LAST_CMD="$* <<< input"
    printf '%s' "$input" | "$@" >"$TMP/.out" 2>"$TMP/.err"
    RC=$?
    OUT=$(cat "$TMP/.out")
    ERR=$(cat "$TMP/.err")
}

# run_stdin FROM CMD...: like run, with stdin from the path FROM, or closed when FROM is "-".
run_stdin() {
    local from=$1
    shift
    LAST_CMD="$* < $from"
    if [ "$from" = - ]; then
        "$@" >"$TMP/.out" 2>"$TMP/.err" <&-
    else
        "$@" >"$TMP/.out" 2>"$TMP/.err" <"$from"
    fi
    RC=$?
    OUT=$(cat "$TMP/.out")
    ERR=$(cat "$TMP/.err")
}

# run_out TO CMD...: like run, with stdout to the path TO, or closed when TO is "-"; OUT is empty.
run_out() {
    local to=$1
    shift
    LAST_CMD="$* > $to"
    if [ "$to" = - ]; then
        "$@" 2>"$TMP/.err" </dev/null >&-
    else
        "$@" 2>"$TMP/.err" </dev/null >"$to"
    fi
    RC=$?
    OUT=''
    ERR=$(cat "$TMP/.err")
}

# check DESCRIPTION TEST...: one test case; TEST is a command that succeeds when the case passes.
check() {
    local desc=$1
    shift
    if "$@"; then
        PASSED=$((PASSED + 1))
        echo "ok $((PASSED + FAILED)) - $desc"
    else
        FAILED=$((FAILED + 1))
        echo "not ok $((PASSED + FAILED)) - $desc"
        echo "#   command: $LAST_CMD"
        echo "#   exit: $RC"
        printf '%s\n' "$OUT" | head -5 | sed 's/^/#   stdout: /'
        printf '%s\n' "$ERR" | head -5 | sed 's/^/#   stderr: /'
    fi
}

rc_is() { [ "$RC" = "$1" ]; }
out_has() { grep -qF -- "$1" <<<"$OUT"; }
err_has() { grep -qF -- "$1" <<<"$ERR"; }
out_is() { [ "$OUT" = "$1" ]; }
err_empty() { [ -z "$ERR" ]; }
err_one_line() { [ -n "$ERR" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ]; }
# A usage error: exit 2 and exactly one line on stderr.
usage_error() { rc_is 2 && err_one_line; }
all() { local c; for c in "$@"; do eval "$c" || return 1; done; }

# Fresh key pair in DIR: keygen DIR ALGORITHM
keygen() { "$CLI" auth generate-keys --output-dir "$1" --algorithm "$2" >/dev/null 2>&1; }

# Segment N (0 header, 1 claims) of a JWT as JSON text.
jwt_part() {
    $PY -c 'import base64,sys; s=sys.argv[1].split(".")[int(sys.argv[2])]; print(base64.urlsafe_b64decode(s+"="*(-len(s)%4)).decode())' "$1" "$2"
}

# py_json JSON EXPR: evaluates EXPR with j = the parsed JSON; exits 0 when it is true.
py_json() {
    $PY -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# mint KEYFILE ALG CLAIMS [HEADERS]: a token signed by PyJWT. CLAIMS and HEADERS are Python
# expressions; `now` is the current Unix time.
mint() {
    $PY -c '
import jwt, sys, time
now = int(time.time())
claims = eval(sys.argv[3])
headers = eval(sys.argv[4]) if len(sys.argv) > 4 else None
key = open(sys.argv[1]).read() if sys.argv[2] != "HS256" else "not-a-public-key-secret"
print(jwt.encode(claims, key, algorithm=sys.argv[2], headers=headers))' "$@"
}

# pyjwt_verify TOKEN PUBLIC_KEY_PEM_FILE ALG: verifies with PyJWT (independent implementation).
pyjwt_verify() {
    $PY -c '
import jwt, sys
jwt.decode(sys.argv[1], open(sys.argv[2]).read(), algorithms=[sys.argv[3]],
           audience="tasker-api", issuer="tasker-core")' "$1" "$2" "$3" 2>/dev/null
}

# Flips one character in the middle of the signature segment.
tamper() {
    $PY -c '
import sys
h, p, s = sys.argv[1].split(".")
i = len(s) // 2
s = s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
print(".".join([h, p, s]))' "$1"
}

CLAIMS_OK='{"sub":"py-client","iss":"tasker-core","aud":"tasker-api","iat":now,"exp":now+3600,"permissions":["tasks:read"]}'

K=$TMP/keys
mkdir -p "$K"

# ---- help and usage -------------------------------------------------------------------------------

run "$CLI" --help
check "tasker-ctl --help exits 0 and lists the commands" all 'rc_is 0' 'out_has "auth generate-keys"' 'out_has "task list"'
run "$CLI" help
check "tasker-ctl help exits 0" rc_is 0
run "$CLI" auth --help
check "tasker-ctl auth --help lists the auth commands" all 'rc_is 0' 'out_has generate-token' 'out_has hash-api-key' 'out_has validate-token'
run "$CLI" task --help
check "tasker-ctl task --help exits 0" all 'rc_is 0' 'out_has list'
for c in "auth generate-keys" "auth generate-token" "auth show-permissions" "auth validate-token" \
         "auth hash-api-key" "auth jwks" "task list"; do
    # shellcheck disable=SC2086
    run "$CLI" $c --help
    check "tasker-ctl $c --help exits 0 with its usage" all 'rc_is 0' "out_has 'Usage: tasker-ctl $c'"
done
run "$CLI" auth generate-token --bogus --help
check "--help wins over a bad option" rc_is 0
# Every command the top-level help lists has its own --help (new commands included).
run "$CLI" --help
LISTED=$(sed -n 's/^  \([a-z]\+ [a-z-]\+\)  .*/\1/p' <<<"$OUT")
check "tasker-ctl --help lists at least the 7 commands" [ "$(wc -l <<<"$LISTED")" -ge 7 ]
while read -r c; do
    # shellcheck disable=SC2086
    run "$CLI" $c -h
    check "tasker-ctl $c -h (listed by --help) prints its usage" all 'rc_is 0' "out_has 'Usage: tasker-ctl $c'" err_empty
done <<<"$LISTED"

run "$CLI"
check "no command: usage error (exit 2, one line)" usage_error
run "$CLI" frobnicate
check "unknown command: usage error" usage_error
run "$CLI" auth
check "auth without a command: usage error" usage_error
run "$CLI" auth nope
check "unknown auth command: usage error" usage_error
run "$CLI" auth show-permissions --verbose
check "unknown option: usage error" all usage_error 'err_has "--verbose"'
run "$CLI" auth generate-token --private-key
check "option without its value: usage error" usage_error
run "$CLI" auth show-permissions extra
check "unexpected positional argument: usage error" usage_error
# A stray argument is often a token whose option name went missing: never echoed.
run "$CLI" auth validate-token --public-key /dev/null eyJstray.secret.tokentext
check "a stray positional argument is not quoted (it may be a token)" \
    all usage_error '! err_has eyJstray' 'err_has "not shown"'
run "$CLI" auth hash-api-key k1 strayKeyText
check "a second KEY argument is not quoted" all usage_error '! err_has strayKeyText'

# ---- generate-keys ------------------------------------------------------------------------------

declare -A ALG_OF=([rsa]=RS256 [ec-p256]=ES256 [ed25519]=EdDSA)
declare -A PKEY_TEXT=([rsa]="Private-Key: (2048 bit" [ec-p256]="NIST CURVE: P-256" [ed25519]="ED25519 Private-Key")
for a in rsa ec-p256 ed25519; do
    d=$K/$a
    run "$CLI" auth generate-keys --output-dir "$d" --algorithm "$a"
    check "generate-keys $a: exit 0" rc_is 0
    check "generate-keys $a: private key has mode 0600" [ "$(stat -c %a "$d/jwt-private-key.pem")" = 600 ]
    check "generate-keys $a: private key is PKCS#8" grep -q -- "-----BEGIN PRIVATE KEY-----" "$d/jwt-private-key.pem"
    check "generate-keys $a: public key is SPKI" grep -q -- "-----BEGIN PUBLIC KEY-----" "$d/jwt-public-key.pem"
    check "generate-keys $a: openssl reads the private key" openssl pkey -in "$d/jwt-private-key.pem" -noout
    check "generate-keys $a: openssl reads the public key" openssl pkey -pubin -in "$d/jwt-public-key.pem" -noout
    check "generate-keys $a: key type is right" \
        grep -qF "${PKEY_TEXT[$a]}" <(openssl pkey -in "$d/jwt-private-key.pem" -noout -text 2>&1)
    check "generate-keys $a: the public key belongs to the private key" \
        cmp -s <(openssl pkey -in "$d/jwt-private-key.pem" -pubout) "$d/jwt-public-key.pem"
    check "generate-keys $a: prints tasker_jwt_public_key_path with the absolute path" \
        out_has "tasker_jwt_public_key_path $(realpath "$d/jwt-public-key.pem");"
    check "generate-keys $a: prints tasker_jwt_allowed_algorithms ${ALG_OF[$a]}" \
        out_has "tasker_jwt_allowed_algorithms ${ALG_OF[$a]};"
    check "generate-keys $a: prints no private key material" \
        eval '! grep -q "PRIVATE KEY-----" <<<"$OUT$ERR"'
done

sum_before=$(sha256sum <"$K/rsa/jwt-private-key.pem")
run "$CLI" auth generate-keys --output-dir "$K/rsa"
check "generate-keys over an existing private key: exit 1 mentioning --force" all 'rc_is 1' 'err_has --force' err_one_line
check "generate-keys without --force leaves the private key unchanged" \
    [ "$(sha256sum <"$K/rsa/jwt-private-key.pem")" = "$sum_before" ]
chmod 0644 "$K/rsa/jwt-private-key.pem"
run "$CLI" auth generate-keys --output-dir "$K/rsa" --force --key-size 3072
check "generate-keys --force: exit 0" rc_is 0
check "generate-keys --force replaces the private key" \
    [ "$(sha256sum <"$K/rsa/jwt-private-key.pem")" != "$sum_before" ]
check "generate-keys --force: the new private key has mode 0600" \
    [ "$(stat -c %a "$K/rsa/jwt-private-key.pem")" = 600 ]
check "generate-keys --key-size 3072 makes a 3072-bit key" \
    grep -qF "Private-Key: (3072 bit" <(openssl pkey -in "$K/rsa/jwt-private-key.pem" -noout -text)
check "generate-keys --force: no leftover temporary files" \
    [ "$(find "$K/rsa" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')" = "jwt-private-key.pem jwt-public-key.pem " ]

# The pair is replaced whole or not at all: both files are written before either is renamed into
# place, and a failed rename of the private key puts the public key back.
entries() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' '; }
mkdir -p "$K/pubdir/jwt-public-key.pem"
run "$CLI" auth generate-keys --output-dir "$K/pubdir" --force
check "generate-keys --force, public key path is a directory: exit 1 naming it" \
    all 'rc_is 1' 'err_has "cannot write $K/pubdir/jwt-public-key.pem"' err_one_line
check "generate-keys, public key not written: no private key, no temporary file" \
    [ "$(entries "$K/pubdir")" = "jwt-public-key.pem " ]
mkdir -p "$K/privdir/jwt-private-key.pem"
cp "$K/rsa/jwt-public-key.pem" "$K/privdir/"
pub_before=$(sha256sum <"$K/privdir/jwt-public-key.pem")
run "$CLI" auth generate-keys --output-dir "$K/privdir" --force
check "generate-keys --force, private key path is a directory: exit 1 naming it" \
    all 'rc_is 1' 'err_has "cannot write $K/privdir/jwt-private-key.pem"' err_one_line
check "generate-keys --force, private key not written: the old public key is back" \
    [ "$(sha256sum <"$K/privdir/jwt-public-key.pem")" = "$pub_before" ]
check "generate-keys --force, private key not written: no temporary file left" \
    [ "$(entries "$K/privdir")" = "jwt-private-key.pem jwt-public-key.pem " ]
rm "$K/privdir/jwt-public-key.pem"
run "$CLI" auth generate-keys --output-dir "$K/privdir" --force
check "generate-keys --force, private key not written, no public key before: none after" \
    all 'rc_is 1' '[ "$(entries "$K/privdir")" = "jwt-private-key.pem " ]'

# An existing public key alone (its private key kept elsewhere) is not replaced either.
mkdir -p "$K/pubonly"
echo OLD >"$K/pubonly/jwt-public-key.pem"
run "$CLI" auth generate-keys --output-dir "$K/pubonly"
check "generate-keys over an existing public key (no private key): exit 1 naming it, mentioning --force" \
    all 'rc_is 1' err_one_line 'err_has "existing public key $K/pubonly/jwt-public-key.pem"' 'err_has --force' '[ -z "$OUT" ]'
check "generate-keys without --force leaves the public key unchanged and writes no private key" \
    all '[ "$(cat "$K/pubonly/jwt-public-key.pem")" = OLD ]' '[ "$(entries "$K/pubonly")" = "jwt-public-key.pem " ]'
run "$CLI" auth generate-keys --output-dir "$K/pubonly" --force
check "generate-keys --force over a public key alone: a new pair" \
    all 'rc_is 0' 'cmp -s <(openssl pkey -in "$K/pubonly/jwt-private-key.pem" -pubout) "$K/pubonly/jwt-public-key.pem"'

run "$CLI" auth generate-keys --output-dir "$K/small" --key-size 1024
check "generate-keys --key-size 1024: usage error (exit 2, one line)" usage_error
check "generate-keys --key-size 1024 writes nothing" [ ! -e "$K/small/jwt-private-key.pem" ]
run "$CLI" auth generate-keys --output-dir "$K/bad" --key-size big
check "generate-keys --key-size big: usage error" usage_error
run "$CLI" auth generate-keys --output-dir "$K/bad" --algorithm dsa
check "generate-keys --algorithm dsa: usage error" usage_error
mkdir -p "$TMP/default"
(cd "$TMP/default" && "$CLI" auth generate-keys --algorithm ec-p256 >/dev/null 2>&1)
check "generate-keys defaults to ./keys" [ -f "$TMP/default/keys/jwt-private-key.pem" ]

# Keys in the other PEM flavours that --private-key must read, and a P-384 key (ES384).
openssl pkey -in "$K/rsa/jwt-private-key.pem" -traditional -out "$K/rsa-pkcs1.pem" 2>/dev/null
openssl pkey -in "$K/ec-p256/jwt-private-key.pem" -traditional -out "$K/ec-sec1.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$K/p384.pem" 2>/dev/null
openssl pkey -in "$K/p384.pem" -pubout -out "$K/p384-pub.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/other-rsa.pem" 2>/dev/null
openssl pkey -in "$K/other-rsa.pem" -pubout -out "$K/other-rsa-pub.pem" 2>/dev/null
check "fixture: PKCS#1 RSA private key" grep -q "BEGIN RSA PRIVATE KEY" "$K/rsa-pkcs1.pem"
check "fixture: SEC1 EC private key" grep -q "BEGIN EC PRIVATE KEY" "$K/ec-sec1.pem"

# ---- generate-token -----------------------------------------------------------------------------

declare -A TOKEN
for a in rsa ec-p256 ed25519; do
    d=$K/$a
    run "$CLI" auth generate-token --private-key "$d/jwt-private-key.pem" --permissions tasks:read,tasks:list
    TOKEN[$a]=$OUT
    check "generate-token $a: exit 0" rc_is 0
    check "generate-token $a: stdout is the token alone" \
        eval '[[ "$OUT" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]'
    check "generate-token $a: stderr shows subject, permissions, expiry and algorithm" \
        all 'err_has tasker-client' 'err_has "tasks:read, tasks:list"' 'err_has "${ALG_OF[$a]}"' \
            'grep -qE "expires: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z" <<<"$ERR"'
    hdr=$(jwt_part "$OUT" 0)
    check "generate-token $a: header alg is ${ALG_OF[$a]}, no kid by default" \
        py_json "$hdr" "j['alg'] == '${ALG_OF[$a]}' and 'kid' not in j"
    check "generate-token $a: PyJWT verifies the token with the public key" \
        pyjwt_verify "$OUT" "$d/jwt-public-key.pem" "${ALG_OF[$a]}"
done

claims=$(jwt_part "${TOKEN[rsa]}" 1)
check "generate-token: default claims (sub tasker-client, iss, aud string, 24 h, permissions array)" \
    py_json "$claims" "j['sub'] == 'tasker-client' and j['iss'] == 'tasker-core' and j['aud'] == 'tasker-api' and j['exp'] - j['iat'] == 86400 and j['permissions'] == ['tasks:read', 'tasks:list'] and j['worker_namespaces'] == []"
check "generate-token: iat is now" py_json "$claims" "abs(j['iat'] - __import__('time').time()) < 60"

run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions "tasks:create, dlq:*" \
    --subject svc-a --expiry-hours 2 --issuer other-iss --audience other-aud --worker-namespaces ns1,ns2 --kid key-7
check "generate-token with every option: exit 0" rc_is 0
claims=$(jwt_part "$OUT" 1)
check "generate-token: options land in the claims" \
    py_json "$claims" "j['sub'] == 'svc-a' and j['iss'] == 'other-iss' and j['aud'] == 'other-aud' and j['exp'] - j['iat'] == 7200 and j['permissions'] == ['tasks:create', 'dlq:*'] and j['worker_namespaces'] == ['ns1', 'ns2']"
check "generate-token --kid sets the kid header" py_json "$(jwt_part "$OUT" 0)" "j['kid'] == 'key-7'"

run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read,tasks:frobnicate
check "generate-token with an unknown permission: exit 0 with a warning naming it" \
    all 'rc_is 0' 'err_has warning' 'err_has tasks:frobnicate' '[ -n "$OUT" ]'
UNKNOWN_PERM_TOKEN=$OUT
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions ""
check "generate-token --permissions '': usage error" usage_error
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions " , "
check "generate-token --permissions ' , ': usage error" usage_error
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem"
check "generate-token without --permissions: usage error" usage_error
run "$CLI" auth generate-token --permissions tasks:read
check "generate-token without --private-key: usage error" usage_error
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read --expiry-hours 0
check "generate-token --expiry-hours 0: usage error" usage_error
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read --expiry-hours soon
check "generate-token --expiry-hours soon: usage error" usage_error
# Plain decimal hours only: strtod alone would take these.
for h in 0x10 1e1 ' 24' 24. inf 1.2.3 -1 +2; do
    run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read --expiry-hours "$h"
    check "generate-token --expiry-hours '$h': usage error" all usage_error 'err_has --expiry-hours'
done
for h in 0.5 .5 24 8760; do
    run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read --expiry-hours "$h"
    check "generate-token --expiry-hours $h: a token" all 'rc_is 0' '[ -n "$OUT" ]'
done
# Details on stderr carry no control character from a value (an escape sequence, a line break).
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read \
    --subject "$(printf 'svc\033[31mred\nforged: line')"
check "generate-token: control characters in --subject are not sent to stderr" \
    all 'rc_is 0' '! grep -q "$(printf "\033")" "$TMP/.err"' '! grep -q "^forged" "$TMP/.err"' \
    'err_has "svc [31mred forged: line"'
# Claims are JSON strings: bytes that are not UTF-8 are refused, never dropped from the token.
for opt in --subject --issuer --audience --kid --permissions --worker-namespaces; do
    run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read \
        "$opt" $'ok,bad\xff'
    check "generate-token $opt with bytes that are not UTF-8: usage error naming $opt, no token" \
        all usage_error "err_has '$opt is not valid UTF-8'" '[ -z "$OUT" ]'
done
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read --subject 'Zoë 名前'
check "generate-token --subject with UTF-8 letters lands in sub" \
    all 'rc_is 0' "py_json \"\$(jwt_part \"\$OUT\" 1)\" \"j['sub'] == 'Zo\\u00eb \\u540d\\u524d'\""
# The module rejects a token over 8192 bytes (token_too_large): generate-token never prints one.
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read \
    --subject "$(printf 'S%.0s' $(seq 9000))"
check "generate-token with a 9000-character --subject: exit 1, one line naming the size and the 8192-byte limit, no token" \
    all 'rc_is 1' err_one_line '[ -z "$OUT" ]' 'grep -qE "the token would be [0-9]+ bytes, over the module.s limit of 8192 bytes" <<<"$ERR"'
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" \
    --permissions "$($PY -c 'print(",".join(["tasks:read"] * 700))')"
check "generate-token with 700 permissions: exit 1 naming the limit, no token" \
    all 'rc_is 1' err_one_line '[ -z "$OUT" ]' 'err_has "limit of 8192 bytes"'
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read \
    --subject "$(printf 'S%.0s' $(seq 5000))"
check "generate-token with a 5000-character --subject: a token validate-token accepts" \
    all 'rc_is 0' '"$CLI" auth validate-token --token "$OUT" --public-key "$K/rsa/jwt-public-key.pem" >/dev/null 2>&1'
run "$CLI" auth generate-token --private-key "$K/does-not-exist.pem" --permissions tasks:read
check "generate-token with a missing key file: exit 1, one line" all 'rc_is 1' err_one_line
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-public-key.pem" --permissions tasks:read
check "generate-token with a public key as --private-key: exit 1" all 'rc_is 1' err_one_line

# One private key per file: a second PEM block is refused, never silently ignored (as the module
# refuses key text with more than one block). An `openssl ecparam -genkey` file (EC PARAMETERS
# then the key) is still one key.
cat "$K/rsa/jwt-private-key.pem" "$K/ec-p256/jwt-private-key.pem" >"$K/two-private.pem"
run "$CLI" auth generate-token --private-key "$K/two-private.pem" --permissions tasks:read
check "generate-token with two private keys in one file: exit 1, one line naming the file and the count, no key bytes" \
    all 'rc_is 1' err_one_line '[ -z "$OUT" ]' 'err_has "$K/two-private.pem: key_multiple_pem_blocks (the file holds 2 PEM blocks"' \
        '! grep -q -- "-----" <<<"$ERR"'
cat "$K/rsa/jwt-private-key.pem" "$K/rsa/jwt-public-key.pem" >"$K/private-public.pem"
run "$CLI" auth generate-token --private-key "$K/private-public.pem" --permissions tasks:read
check "generate-token with a private then a public key in one file: exit 1 (key_multiple_pem_blocks)" \
    all 'rc_is 1' err_one_line '[ -z "$OUT" ]' 'err_has key_multiple_pem_blocks'
openssl ecparam -name prime256v1 -genkey -out "$K/ecparam-genkey.pem" 2>/dev/null
run "$CLI" auth generate-token --private-key "$K/ecparam-genkey.pem" --permissions tasks:read
check "generate-token reads an 'openssl ecparam -genkey' file (EC PARAMETERS, then the key)" \
    all 'rc_is 0' 'py_json "$(jwt_part "$OUT" 0)" "j[\"alg\"] == \"ES256\""'
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$K/rsa-1024.pem" 2>/dev/null
run "$CLI" auth generate-token --private-key "$K/rsa-1024.pem" --permissions tasks:read
check "generate-token with a 1024-bit RSA key: exit 1 saying why (key_too_small, under 2048 bits)" \
    all 'rc_is 1' err_one_line 'err_has "key_too_small (RSA keys under 2048 bits are refused)"'

run "$CLI" auth generate-token --private-key "$K/rsa-pkcs1.pem" --permissions tasks:read
check "generate-token reads a PKCS#1 RSA key (RS256)" \
    all 'rc_is 0' 'pyjwt_verify "$OUT" "$K/rsa/jwt-public-key.pem" RS256'
run "$CLI" auth generate-token --private-key "$K/ec-sec1.pem" --permissions tasks:read
check "generate-token reads a SEC1 EC key (ES256)" \
    all 'rc_is 0' 'pyjwt_verify "$OUT" "$K/ec-p256/jwt-public-key.pem" ES256'
run "$CLI" auth generate-token --private-key "$K/p384.pem" --permissions tasks:read
P384_TOKEN=$OUT
check "generate-token with a P-384 key signs ES384" \
    all 'rc_is 0' 'py_json "$(jwt_part "$OUT" 0)" "j[\"alg\"] == \"ES384\""' 'pyjwt_verify "$OUT" "$K/p384-pub.pem" ES384'

# ---- validate-token -----------------------------------------------------------------------------

for opt in --issuer --audience; do
    run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem" "$opt" ''
    check "validate-token $opt '': usage error (no token could match)" all usage_error "err_has -- $opt"
done
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: an RSA token from generate-token is valid (defaults)" all 'rc_is 0' 'err_has "valid: RS256"'
check "validate-token prints the claims as JSON" \
    $PY -c 'import json,sys; j=json.JSONDecoder().raw_decode(sys.argv[1])[0]; sys.exit(0 if j["sub"]=="tasker-client" and j["aud"]=="tasker-api" else 1)' "$OUT"
check "validate-token renders iat and exp in RFC 3339 UTC" \
    eval 'grep -qE "^iat: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" <<<"$OUT" && grep -qE "^exp: [0-9-]{10}T[0-9:]{8}Z$" <<<"$OUT"'
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa-pkcs1.pem"
check "validate-token with a private key as --public-key: exit 1, one line" all 'rc_is 1' err_one_line 'err_has "private key"'
# One public key per file, as tasker_jwt_public_key_path: a second PEM block of any kind is refused.
cat "$K/rsa/jwt-public-key.pem" "$K/ec-p256/jwt-public-key.pem" >"$K/two-public.pem"
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/two-public.pem"
check "validate-token with two public keys in --public-key: exit 1, one line naming the count" \
    all 'rc_is 1' err_one_line 'err_has "key_multiple_pem_blocks (the file holds 2 PEM blocks; give exactly one public key)"'
cat "$K/rsa/jwt-public-key.pem" "$K/rsa/jwt-private-key.pem" >"$K/public-private.pem"
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/public-private.pem"
check "validate-token with a public then a private key: exit 1 naming the private key, no key bytes" \
    all 'rc_is 1' err_one_line 'err_has "among them a private key"' '! grep -q -- "-----" <<<"$OUT$ERR"'
printf '# tasker-core signing key\n\n%s\n# end\n' "$(cat "$K/rsa/jwt-public-key.pem")" >"$K/commented.pem"
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/commented.pem"
check "validate-token: comments around the one key are ignored" rc_is 0

# The module's default allowlist is RS256 only.
run "$CLI" auth validate-token --token "${TOKEN[ec-p256]}" --public-key "$K/ec-p256/jwt-public-key.pem"
check "validate-token: ES256 is refused under the default allowlist" all 'rc_is 1' 'err_has "invalid: token_alg_not_allowed"'
run "$CLI" auth validate-token --token "${TOKEN[ec-p256]}" --public-key "$K/ec-p256/jwt-public-key.pem" --algorithms RS256,ES256
check "validate-token --algorithms RS256,ES256: EC P-256 round trip" rc_is 0
run "$CLI" auth validate-token --token "${TOKEN[ed25519]}" --public-key "$K/ed25519/jwt-public-key.pem" --algorithms EdDSA
check "validate-token --algorithms EdDSA: Ed25519 round trip" rc_is 0
run "$CLI" auth validate-token --token "$P384_TOKEN" --public-key "$K/p384-pub.pem" --algorithms ES384
check "validate-token --algorithms ES384: EC P-384 round trip" rc_is 0
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/ec-p256/jwt-public-key.pem" --algorithms RS256,ES256
check "validate-token: RS256 token against an EC key is refused" all 'rc_is 1' 'err_has "invalid: token_alg_key_mismatch"'

for a in rsa ec-p256 ed25519; do
    run "$CLI" auth validate-token --token "$(tamper "${TOKEN[$a]}")" --public-key "$K/$a/jwt-public-key.pem" --algorithms RS256,ES256,EdDSA
    check "validate-token $a: a flipped signature character gives token_bad_signature" \
        all 'rc_is 1' 'err_has "invalid: token_bad_signature"' '[ -z "$OUT" ]'
done
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/other-rsa-pub.pem"
check "validate-token: another RSA key gives token_bad_signature" all 'rc_is 1' 'err_has "invalid: token_bad_signature"'

T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"old","iss":"tasker-core","aud":"tasker-api","iat":now-7200,"exp":now-3600,"permissions":["tasks:read"]}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: an expired token gives token_expired and says when" \
    all 'rc_is 1' 'err_has "invalid: token_expired"' 'err_has "expired at"'
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"x","iss":"tasker-core","aud":"tasker-api","iat":now-600,"exp":now-30,"permissions":["tasks:read"]}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: expired 30 s ago passes within the default 60 s leeway" rc_is 0
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem" --leeway 0
check "validate-token --leeway 0: the same token is expired" all 'rc_is 1' 'err_has "invalid: token_expired"'
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"x","iss":"tasker-core","aud":"tasker-api","iat":now,"nbf":now+3600,"exp":now+7200,"permissions":["tasks:read"]}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: nbf in the future gives token_not_yet_valid" all 'rc_is 1' 'err_has "invalid: token_not_yet_valid"'
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"x","iss":"tasker-core","aud":["other","tasker-api"],"iat":now,"nbf":now-10,"exp":now+600,"permissions":["tasks:read"]}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: an aud array containing tasker-api is valid; nbf is rendered" all 'rc_is 0' 'grep -qE "^nbf: .*Z$" <<<"$OUT"'
# Reals are valid NumericDates; one far outside int64_t (exp 1e300 never expires) is printed as
# written, not converted (undefined behaviour, and it printed -9223372036854775808).
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"x","iss":"tasker-core","aud":"tasker-api","iat":-1e300,"nbf":now-0.5,"exp":1e300,"permissions":["tasks:read"]}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: real iat/exp far outside int64 are shown as numbers; a real nbf as a date" \
    all 'rc_is 0' 'grep -qE "^exp: 1(\.[0-9]+)?e\+?300$" <<<"$OUT"' 'grep -qE "^iat: -1(\.[0-9]+)?e\+?300$" <<<"$OUT"' \
        'grep -qE "^nbf: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" <<<"$OUT"' '! grep -qF -- -9223372036854775808 <<<"$OUT"'
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"x","iss":"tasker-core","aud":"tasker-api","iat":now-7200.5,"exp":now-3600.5,"permissions":["tasks:read"]}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: an expired token with a real exp says when it expired" \
    all 'rc_is 1' 'grep -qE "expired at [0-9]{4}-[0-9]{2}-[0-9]{2}T" <<<"$ERR"'
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"iss":"tasker-core","aud":"tasker-api","iat":now,"exp":now+600}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: no sub gives token_missing_claim" all 'rc_is 1' 'err_has "invalid: token_missing_claim"'
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"x","iss":"tasker-core","aud":"tasker-api","iat":now,"exp":now+600,"permissions":None}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: permissions null gives token_bad_permissions_claim" all 'rc_is 1' 'err_has "invalid: token_bad_permissions_claim"'
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"x","iss":"tasker-core","aud":"tasker-api","iat":now,"exp":now+600,"scope":"tasks:read tasks:list"}')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem" --permissions-claim scope
check "validate-token --permissions-claim scope reads a space-separated string" rc_is 0
T=$(mint "$K/rsa/jwt-private-key.pem" HS256 "$CLAIMS_OK")
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: an HS256 token is never accepted" all 'rc_is 1' 'err_has "invalid: token_alg_not_allowed"'
T=$(mint "$K/rsa/jwt-private-key.pem" RS256 "$CLAIMS_OK")
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: a PyJWT-signed RS256 token is valid" all 'rc_is 0' 'out_has py-client'

run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem" --issuer someone-else
check "validate-token --issuer mismatch gives token_bad_issuer" all 'rc_is 1' 'err_has "invalid: token_bad_issuer"'
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem" --audience other-api
check "validate-token --audience mismatch gives token_bad_audience" all 'rc_is 1' 'err_has "invalid: token_bad_audience"'
run "$CLI" auth validate-token --token "$UNKNOWN_PERM_TOKEN" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: an unknown permission is rejected (strict by default)" \
    all 'rc_is 1' 'err_has "invalid: token_unknown_permission"' 'err_has tasks:frobnicate'
run "$CLI" auth validate-token --token "$UNKNOWN_PERM_TOKEN" --public-key "$K/rsa/jwt-public-key.pem" --no-strict
check "validate-token --no-strict accepts the unknown permission" rc_is 0
# A header alg that is not a string is shown as its JSON text.
T=$($PY -c '
import base64, json
b = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
print(b({"alg": 1, "typ": "JWT"}) + "." + b({"sub": "x"}) + ".AAAA")')
run "$CLI" auth validate-token --token "$T" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: a numeric alg (\"alg\":1) is named in the message" \
    all 'rc_is 1' err_one_line 'err_has "the token'"'"'s alg 1 is not in the allowed algorithms"'
run "$CLI" auth validate-token --token not-a-token --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token: garbage gives token_malformed" all 'rc_is 1' 'err_has "invalid: token_malformed"'
run_in "${TOKEN[rsa]}"$'\n' "$CLI" auth validate-token --token - --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token --token - reads the token from stdin" all 'rc_is 0' 'out_has tasker-client'
run "$CLI" auth validate-token --token "${TOKEN[rsa]}"
check "validate-token without a key source: usage error" usage_error
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem" --jwks "$K/x.json"
check "validate-token with both --public-key and --jwks: usage error" usage_error
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem" --algorithms HS256
check "validate-token --algorithms HS256: usage error" usage_error
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem" --algorithms none
check "validate-token --algorithms none: usage error" usage_error
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem" --leeway -5
check "validate-token --leeway -5: usage error" usage_error
run "$CLI" auth validate-token --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token without --token: usage error" usage_error
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/missing.pem"
check "validate-token with a missing key file: exit 1" all 'rc_is 1' err_one_line
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/no"$'\n'"such.pem"
check "an error quoting a file name with a line break is still one line" all 'rc_is 1' err_one_line
# An invalid token is an error like any other: one line, "invalid: <reason>: <explanation>".
for args in "--issuer someone-else" "--audience other-api" "--leeway 0 --algorithms ES256"; do
    # shellcheck disable=SC2086
    run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem" $args
    check "validate-token $args: exit 1 with one stderr line 'invalid: <reason>: <why>'" \
        all 'rc_is 1' err_one_line 'grep -qE "^invalid: token_[a-z_]+: .+" <<<"$ERR"'
done
run "$CLI" auth validate-token --token "$(tamper "${TOKEN[rsa]}")" --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token with a tampered token: one stderr line" all 'rc_is 1' err_one_line

# ---- jwks ---------------------------------------------------------------------------------------

# RFC 7638 thumbprint computed independently.
thumbprint() {
    $PY -c '
import base64, hashlib, json, sys
k = json.load(open(sys.argv[1]))["keys"][0]
req = {"RSA": ["e", "kty", "n"], "EC": ["crv", "kty", "x", "y"], "OKP": ["crv", "kty", "x"]}[k["kty"]]
s = json.dumps({m: k[m] for m in req}, separators=(",", ":"), sort_keys=True)
print(base64.urlsafe_b64encode(hashlib.sha256(s.encode()).digest()).rstrip(b"=").decode())' "$1"
}

declare -A KTY=([rsa]=RSA [ec-p256]=EC [ed25519]=OKP)
for a in rsa ec-p256 ed25519; do
    run "$CLI" auth jwks --public-key "$K/$a/jwt-public-key.pem"
    printf '%s\n' "$OUT" >"$K/$a.jwks.json"
    check "jwks $a: exit 0" rc_is 0
    check "jwks $a: python json.load parses it" $PY -c 'import json,sys; json.load(open(sys.argv[1]))' "$K/$a.jwks.json"
    check "jwks $a: one key with kty ${KTY[$a]}, use sig, alg ${ALG_OF[$a]}" \
        py_json "$OUT" "len(j['keys']) == 1 and j['keys'][0]['kty'] == '${KTY[$a]}' and j['keys'][0]['use'] == 'sig' and j['keys'][0]['alg'] == '${ALG_OF[$a]}'"
    kid=$(thumbprint "$K/$a.jwks.json")
    check "jwks $a: default kid is the RFC 7638 thumbprint" py_json "$OUT" "j['keys'][0]['kid'] == '$kid'"
    check "jwks $a: PyJWT verifies a generate-token token with the JWK" \
        $PY -c '
import json, jwt, sys
k = jwt.PyJWK(json.load(open(sys.argv[1]))["keys"][0])
jwt.decode(sys.argv[2], k.key, algorithms=[sys.argv[3]], audience="tasker-api", issuer="tasker-core")' \
        "$K/$a.jwks.json" "${TOKEN[$a]}" "${ALG_OF[$a]}"
    run "$CLI" auth generate-token --private-key "$K/$a/jwt-private-key.pem" --permissions tasks:list --kid "$kid"
    T=$OUT
    run "$CLI" auth validate-token --token "$T" --jwks "$K/$a.jwks.json" --algorithms RS256,ES256,EdDSA
    check "validate-token --jwks $a: a token with the matching kid is valid" all 'rc_is 0' "err_has 'kid \"$kid\"'"
    run "$CLI" auth validate-token --token "${TOKEN[$a]}" --jwks "$K/$a.jwks.json" --algorithms RS256,ES256,EdDSA
    check "validate-token --jwks $a: a token without kid gives token_kid_missing" all 'rc_is 1' 'err_has "invalid: token_kid_missing"'
done
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:list --kid nobody
run "$CLI" auth validate-token --token "$OUT" --jwks "$K/rsa.jwks.json"
check "validate-token --jwks: an unknown kid gives token_unknown_kid" all 'rc_is 1' 'err_has "invalid: token_unknown_kid"' 'err_has nobody'
run "$CLI" auth jwks --public-key "$K/p384-pub.pem" --kid my-key
check "jwks --kid sets the kid; P-384 gives crv P-384, alg ES384" \
    all 'rc_is 0' 'py_json "$OUT" "j[\"keys\"][0][\"kid\"] == \"my-key\" and j[\"keys\"][0][\"crv\"] == \"P-384\" and j[\"keys\"][0][\"alg\"] == \"ES384\""'
run "$CLI" auth jwks --public-key "$K/rsa/jwt-private-key.pem"
check "jwks with a private key file: exit 1, nothing on stdout" all 'rc_is 1' err_one_line '[ -z "$OUT" ]'
run "$CLI" auth jwks
check "jwks without --public-key: usage error" usage_error
echo '{"keys":[]}' >"$K/empty.jwks.json"
run "$CLI" auth validate-token --token "${TOKEN[rsa]}" --jwks "$K/empty.jwks.json"
check "validate-token with an empty JWKS: exit 1 (jwks_no_usable_keys)" all 'rc_is 1' 'err_has jwks_no_usable_keys'
$PY -c '
import json, sys
doc = json.load(open(sys.argv[1]))
doc["keys"].insert(0, {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB"})
json.dump(doc, open(sys.argv[2], "w"))' "$K/rsa.jwks.json" "$K/bad-first.jwks.json"
run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:list --kid "$(thumbprint "$K/rsa.jwks.json")"
run "$CLI" auth validate-token --token "$OUT" --jwks "$K/bad-first.jwks.json"
check "validate-token --jwks with an unusable key: valid, one warning naming the key once ('key #0 (kid \"r1\") skipped: ...')" \
    all 'rc_is 0' 'err_has "tasker-ctl: warning: JWKS $K/bad-first.jwks.json: key #0 (kid \"r1\") skipped: "' \
        '! err_has "skipped key"'

# ---- hash-api-key -------------------------------------------------------------------------------

KEY='s3cr3t-api-key-value'
# shellcheck disable=SC2034  # used inside the deferred checks below
EXPECTED="sha256:$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)"
run "$CLI" auth hash-api-key "$KEY"
check "hash-api-key KEY prints sha256:<hex of the key>" all 'rc_is 0' 'out_is "$EXPECTED"' err_empty
run_in "$KEY"$'\n' "$CLI" auth hash-api-key -
check "hash-api-key - reads stdin and strips the trailing newline" all 'rc_is 0' 'out_is "$EXPECTED"' err_empty
run_in "$KEY" "$CLI" auth hash-api-key -
check "hash-api-key - without a trailing newline" all 'rc_is 0' 'out_is "$EXPECTED"'
check "hash-api-key never echoes the key" eval '! grep -qF "$KEY" <<<"$OUT$ERR"'
run "$CLI" auth hash-api-key
check "hash-api-key without KEY: usage error" usage_error
run "$CLI" auth hash-api-key ""
check "hash-api-key '': usage error" usage_error
run_in "" "$CLI" auth hash-api-key -
check "hash-api-key - with empty stdin: usage error" usage_error
run "$CLI" auth hash-api-key a b
check "hash-api-key with two keys: usage error" usage_error
# stdin that cannot be read is an I/O failure (exit 1), not a usage error.
run_stdin / "$CLI" auth hash-api-key -
check "hash-api-key - with a directory on stdin: exit 1, one line saying why" \
    all 'rc_is 1' err_one_line 'err_has "cannot read the key from stdin: Is a directory"' '[ -z "$OUT" ]'
run_stdin - "$CLI" auth hash-api-key -
check "hash-api-key - with stdin closed: exit 1, one line saying why" \
    all 'rc_is 1' err_one_line 'err_has "cannot read the key from stdin: Bad file descriptor"' '[ -z "$OUT" ]'
run_stdin /dev/zero "$CLI" auth hash-api-key -
check "hash-api-key - with more than 64 KiB on stdin: exit 1, 'larger than 65536 bytes'" \
    all 'rc_is 1' err_one_line 'err_has "cannot read the key from stdin: larger than 65536 bytes"' '[ -z "$OUT" ]'
run_stdin /dev/zero "$CLI" auth validate-token --token - --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token --token - with endless stdin: exit 1, 'larger than 32768 bytes'" \
    all 'rc_is 1' err_one_line 'err_has "cannot read the token from stdin: larger than 32768 bytes"'
run_stdin / "$CLI" auth validate-token --token - --public-key "$K/rsa/jwt-public-key.pem"
check "validate-token --token - with a directory on stdin: exit 1 saying why" \
    all 'rc_is 1' err_one_line 'err_has "cannot read the token from stdin: Is a directory"'
run_in "$KEY"$'\r\n' "$CLI" auth hash-api-key -
check "hash-api-key - strips a trailing CRLF as one newline" all 'rc_is 0' 'out_is "$EXPECTED"'
run_in "$KEY"$'\n\n' "$CLI" auth hash-api-key -
check "hash-api-key - strips only one trailing newline: a second one is refused (exit 2, one line)" \
    all usage_error 'err_has "line break"' '[ -z "$OUT" ]'
run "$CLI" auth hash-api-key "$KEY"$'\n'
check "hash-api-key KEY with a line break in the argument: usage error, key not echoed" \
    all usage_error '! grep -qF "$KEY" <<<"$ERR"'
run "$CLI" auth hash-api-key " $KEY"
check "hash-api-key with a leading space: digest of the exact bytes, plus a one-line warning" \
    all 'rc_is 0' 'out_is "sha256:$(printf %s " $KEY" | sha256sum | cut -d" " -f1)"' 'err_has warning' err_one_line
# A usage error never quotes what may be the key: a dash-led key looks like an unknown option,
# and a second argument may be a second key.
run "$CLI" auth hash-api-key "-$KEY"
check "hash-api-key -KEY (looks like an option): usage error that does not echo the key" \
    all usage_error '! grep -qF "$KEY" <<<"$ERR"' 'err_has "after --"'
run "$CLI" auth hash-api-key "--$KEY=x"
check "hash-api-key --KEY=x: usage error that does not echo the key" all usage_error '! grep -qF "$KEY" <<<"$ERR"'
run "$CLI" auth hash-api-key first-key "$KEY"
check "hash-api-key with two arguments: usage error that does not echo either" \
    all usage_error '! grep -qF "$KEY" <<<"$ERR"' '! grep -qF first-key <<<"$ERR"'
run "$CLI" auth hash-api-key -- "-$KEY"
check "hash-api-key -- -KEY hashes a key that starts with -" \
    all 'rc_is 0' 'out_is "sha256:$(printf %s "-$KEY" | sha256sum | cut -d" " -f1)"' err_empty
run "$CLI" auth hash-api-key --help
check "hash-api-key --help says - strips one trailing newline" all 'rc_is 0' 'out_has "strip one trailing newline"'

# ---- show-permissions ---------------------------------------------------------------------------

run "$CLI" auth show-permissions
check "show-permissions: exit 0" rc_is 0
while IFS='|' read -r perm desc; do
    check "show-permissions lists $perm with its description" \
        grep -qE "^ +$perm +$desc\$" <<<"$OUT"
done <<'EOF'
tasks:create|Create new tasks
tasks:read|Read task details
tasks:list|List tasks
tasks:cancel|Cancel running tasks
tasks:context_read|Read task context data
steps:read|Read workflow step details
steps:resolve|Manually resolve steps
dlq:read|Read DLQ entries
dlq:update|Update DLQ investigations
dlq:stats|View DLQ statistics
templates:read|Read task templates
templates:validate|Validate templates
system:config_read|Read system configuration
system:handlers_read|Read handler registry
system:analytics_read|Read analytics data
worker:config_read|Read worker configuration
worker:templates_read|Read worker templates
EOF
for w in '\*' 'tasks:\*' 'steps:\*' 'dlq:\*' 'templates:\*' 'system:\*' 'worker:\*'; do
    check "show-permissions lists the wildcard ${w//\\/}" grep -qE "^ +$w +" <<<"$OUT"
done
check "show-permissions groups by resource (a heading per resource)" \
    eval '[ "$(grep -cE "^(tasks|steps|dlq|templates|system|worker)$" <<<"$OUT")" -eq 6 ]'
check "show-permissions: wildcards come after the permissions" \
    eval '[ "$(grep -n "worker:templates_read" <<<"$OUT" | head -1 | cut -d: -f1)" -lt "$(grep -n "tasks:\*" <<<"$OUT" | head -1 | cut -d: -f1)" ]'

# ---- tasker's own short options --------------------------------------------------------------------
# tasker-core's tasker-ctl takes -o/-k (generate-keys), -p/-s/-e (generate-token) and -t
# (validate-token): scripts written for it run unchanged.

run "$CLI" auth generate-keys -o "$K/short" -k 3072
check "generate-keys -o DIR -k 3072: exit 0, a 3072-bit key in DIR" \
    all 'rc_is 0' 'grep -qF "Private-Key: (3072 bit" <(openssl pkey -in "$K/short/jwt-private-key.pem" -noout -text)'
run "$CLI" auth generate-token -p tasks:read,tasks:list -s short-svc -e 2 --private-key "$K/short/jwt-private-key.pem"
SHORT_TOKEN=$OUT
check "generate-token -p LIST -s S -e H: exit 0, sub, permissions and a 2-hour lifetime" \
    all 'rc_is 0' \
        'py_json "$(jwt_part "$SHORT_TOKEN" 1)" "j[\"sub\"] == \"short-svc\" and j[\"permissions\"] == [\"tasks:read\", \"tasks:list\"] and j[\"exp\"] - j[\"iat\"] == 7200"'
run "$CLI" auth validate-token -t "$SHORT_TOKEN" --public-key "$K/short/jwt-public-key.pem"
check "validate-token -t TOKEN: exit 0 with the claims" all 'rc_is 0' 'out_has short-svc'
run "$CLI" auth generate-keys -o
check "generate-keys -o without a value: usage error naming -o" all usage_error 'err_has "option -o needs a value"'
run "$CLI" auth validate-token -p x --public-key "$K/short/jwt-public-key.pem"
check "a short option of another command is unknown there (validate-token -p)" \
    all usage_error "err_has \"unknown option '-p'\""
run "$CLI" auth generate-token --help
check "generate-token --help lists the short forms" all 'rc_is 0' 'out_has "-p LIST, -s S, -e H"'
# As in tasker's clap-based CLI, a short option's value may be glued to it: -tTOKEN, -t=TOKEN.
run "$CLI" auth validate-token -t"$SHORT_TOKEN" --public-key "$K/short/jwt-public-key.pem"
check "validate-token -tTOKEN (value glued to the short option): exit 0 with the claims" \
    all 'rc_is 0' 'out_has short-svc'
run "$CLI" auth validate-token -t="$SHORT_TOKEN" --public-key "$K/short/jwt-public-key.pem"
check "validate-token -t=TOKEN: exit 0 with the claims" all 'rc_is 0' 'out_has short-svc'
run "$CLI" auth generate-token -ptasks:list -sglued-svc -e1 --private-key "$K/short/jwt-private-key.pem"
check "generate-token -pLIST -sS -eH: the glued values land in the token" \
    all 'rc_is 0' 'py_json "$(jwt_part "$OUT" 1)" "j[\"sub\"] == \"glued-svc\" and j[\"permissions\"] == [\"tasks:list\"] and j[\"exp\"] - j[\"iat\"] == 3600"'
run "$CLI" -c"$TMP/no-such-client.toml" task list --url http://127.0.0.1:1
check "tasker-ctl -cFILE task list: a glued global option is read (the missing file is named)" \
    all 'rc_is 1' err_one_line 'err_has "$TMP/no-such-client.toml"'
# An unknown option is quoted by its name only: a token glued to it is never echoed.
run "$CLI" auth jwks -t"$SHORT_TOKEN" --public-key "$K/short/jwt-public-key.pem"
check "an unknown short option with a glued token: usage error quoting '-t...' only" \
    all usage_error "err_has \"unknown option '-t...'\"" '! grep -qF "${SHORT_TOKEN:0:40}" <<<"$ERR"'
run "$CLI" auth jwks "--$SHORT_TOKEN=x" --public-key "$K/short/jwt-public-key.pem"
check "an unknown long option: at most 32 bytes of its name are quoted, never its value" \
    all usage_error "err_has \"unknown option '--${SHORT_TOKEN:0:30}...'\"" '! grep -qF "${SHORT_TOKEN:0:40}" <<<"$ERR"'
run "$CLI" -t"$SHORT_TOKEN" auth show-permissions
check "an unknown global option with a glued token: usage error that does not echo it" \
    all usage_error '! grep -qF "${SHORT_TOKEN:0:40}" <<<"$ERR"'
run "$CLI" auth "$SHORT_TOKEN"
check "an unknown auth command is quoted by 32 bytes at most (it may be a token)" \
    all usage_error '! grep -qF "${SHORT_TOKEN:0:40}" <<<"$ERR"'
run "$CLI" auth generate-keys -f
check "a short form of a flag does not exist: unknown option '-f'" all usage_error "err_has \"unknown option '-f'\""

# ---- stdout that cannot be written ---------------------------------------------------------------
# A result that did not reach stdout is a failure: exit 1 and one error line saying why (after
# whatever the command itself put on stderr), never exit 0.

# stdout_failed REASON: exit 1, and the last stderr line, the only error line, gives REASON.
stdout_failed() {
    rc_is 1 && [ "$(tail -n 1 <<<"$ERR")" = "tasker-ctl: cannot write to standard output: $1" ] &&
        [ "$(grep -c '^tasker-ctl: ' <<<"$ERR")" -eq 1 ]
}
BIG_TOKEN=$("$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read \
    --subject "$(printf 'S%.0s' $(seq 5000))" 2>/dev/null)
for to in /dev/full -; do
    why=$([ "$to" = - ] && echo "Bad file descriptor" || echo "No space left on device")
    where=$([ "$to" = - ] && echo "closed stdout" || echo "stdout on /dev/full")
    run_out "$to" "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" -p tasks:read
    check "generate-token, $where: exit 1, '$why'" stdout_failed "$why"
    run_out "$to" "$CLI" auth hash-api-key "$KEY"
    check "hash-api-key, $where: exit 1, '$why'" stdout_failed "$why"
    run_out "$to" "$CLI" auth jwks --public-key "$K/rsa/jwt-public-key.pem"
    check "jwks, $where: exit 1, '$why'" stdout_failed "$why"
    run_out "$to" "$CLI" auth show-permissions
    check "show-permissions, $where: exit 1, '$why'" stdout_failed "$why"
    run_out "$to" "$CLI" auth validate-token --token "${TOKEN[rsa]}" --public-key "$K/rsa/jwt-public-key.pem"
    check "validate-token, $where: exit 1, '$why'" stdout_failed "$why"
    run_out "$to" "$CLI" auth validate-token --token "$BIG_TOKEN" --public-key "$K/rsa/jwt-public-key.pem"
    check "validate-token with 5 kB of claims (failing mid-output), $where: exit 1, '$why'" stdout_failed "$why"
    run_out "$to" "$CLI" auth generate-keys -o "$K/stdout-$why"
    check "generate-keys, $where: exit 1, '$why'" stdout_failed "$why"
    run_out "$to" "$CLI" --help
    check "tasker-ctl --help, $where: exit 1, '$why'" stdout_failed "$why"
    run_out "$to" "$CLI" auth validate-token --token not-a-token --public-key "$K/rsa/jwt-public-key.pem"
    check "validate-token of a bad token, $where: exit 1 with its own error line only" \
        all 'rc_is 1' err_one_line 'err_has "invalid: token_malformed"'
done

# ---- task list against a throwaway nginx ----------------------------------------------------------

# start_nginx DIR CONF_BODY: writes DIR/nginx.conf from CONF_BODY (where @PORT@ is the port
# and @READY@ a readiness location) and starts nginx in the foreground on a free port of
# 18900-18999; sets PORT.
start_nginx() {
    local dir=$1 body=$2 p pid
    local ready="location = /__ready { return 200 \"$dir\"; }"
    body=${body//@READY@/$ready}
    mkdir -p "$dir/logs" "$dir/tmp"
    for p in $(shuf -i 18900-18999 -n 20); do
        {
            echo "daemon off; master_process on; worker_processes 1;"
            echo "error_log $dir/logs/error.log info; pid $dir/nginx.pid;"
            echo "${body//@PORT@/$p}"
        } >"$dir/nginx.conf"
        "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/logs/stderr" 2>&1 &
        pid=$!
        for _ in $(seq 1 50); do
            # The body names this instance, so another server already on the port never counts.
            if [ "$(curl -s "http://127.0.0.1:$p/__ready" 2>/dev/null)" = "$dir" ]; then
                NGINX_PIDS+=("$pid")
                PORT=$p
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    echo "# could not start nginx; see $dir/logs:" >&2
    cat "$dir/logs/stderr" "$dir/logs/error.log" >&2 2>/dev/null
    return 1
}

HTTP_TEMP="client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;"
ECHO_CONF="events { worker_connections 64; }
http {
    access_log off; $HTTP_TEMP
    default_type text/plain;
    server {
        listen 127.0.0.1:@PORT@;
        location = /v1/tasks { return 200 \"auth=\$http_authorization key=\$http_x_api_key custom=\$http_x_custom_key\\n\"; }
        location = /unauthorized/v1/tasks {
            default_type application/json;
            return 401 '{\"error\":\"unauthorized\",\"message\":\"Invalid or expired token\"}';
        }
        location = /forbidden/v1/tasks {
            default_type application/json;
            return 403 '{\"error\":\"forbidden\",\"message\":\"Missing required permission: tasks:list\"}';
        }
        location = /broken/v1/tasks { return 500 \"upstream exploded\\n\"; }
        location = /bigmsg/v1/tasks { error_page 401 /big-401.json; return 401; }
        location = /bigtitle/v1/tasks { error_page 403 /big-403.html; return 403; }
        location /big- { root $TMP/echo/www; }
        location = /bigok/v1/tasks { alias $TMP/echo/www/big-200.txt; }
        @READY@
    }
}"

# Error bodies of 300 kB: a JSON message, and an HTML title, each holding an escape sequence.
mkdir -p "$TMP/echo/www"
$PY -c 'import json,sys; print(json.dumps({"error":"unauthorized","message":"\x1b[31m"+"M"*300000}))' >"$TMP/echo/www/big-401.json"
$PY -c 'print("<html><head><title>\x1b[31m"+"T"*300000+"</title></head></html>")' >"$TMP/echo/www/big-403.html"
$PY -c 'print("B"*300000)' >"$TMP/echo/www/big-200.txt"
chmod o+x "$TMP" "$TMP/echo"  # nginx workers (nobody) serve the files
chmod -R o+rX "$TMP/echo/www"
if ! start_nginx "$TMP/echo" "$ECHO_CONF"; then
    check "start a throwaway nginx for task list" false
else
    URL=http://127.0.0.1:$PORT
    WORK=$TMP/work
    H=$TMP/home
    mkdir -p "$WORK" "$H"
    cd "$WORK" || exit 1
    CLEAN=(env -i "PATH=$PATH" "HOME=$H")

    run "${CLEAN[@]}" TASKER_ORCHESTRATION_AUTH_TOKEN=orch-tok TASKER_WORKER_AUTH_TOKEN=worker-tok \
        TASKER_AUTH_TOKEN=generic-tok TASKER_API_KEY=env-key "$CLI" task list --url "$URL"
    check "task list: TASKER_ORCHESTRATION_AUTH_TOKEN comes first" all 'rc_is 0' 'out_is "auth=Bearer orch-tok key= custom="'
    run "${CLEAN[@]}" TASKER_WORKER_AUTH_TOKEN=worker-tok TASKER_AUTH_TOKEN=generic-tok TASKER_API_KEY=env-key \
        "$CLI" task list --url "$URL"
    check "task list: then TASKER_AUTH_TOKEN (the worker token is not an orchestration credential)" \
        all 'rc_is 0' 'out_is "auth=Bearer generic-tok key= custom="'
    run "${CLEAN[@]}" TASKER_ORCHESTRATION_AUTH_TOKEN=orch-tok TASKER_WORKER_AUTH_TOKEN=worker-tok \
        TASKER_AUTH_TOKEN=generic-tok "$CLI" task list --worker --url "$URL"
    check "task list --worker: TASKER_WORKER_AUTH_TOKEN comes first" all 'rc_is 0' 'out_is "auth=Bearer worker-tok key= custom="'
    run "${CLEAN[@]}" TASKER_ORCHESTRATION_AUTH_TOKEN=orch-tok TASKER_AUTH_TOKEN=generic-tok \
        "$CLI" task list --worker --url "$URL"
    check "task list --worker: then TASKER_AUTH_TOKEN" all 'rc_is 0' 'out_is "auth=Bearer generic-tok key= custom="'
    run "${CLEAN[@]}" TASKER_API_KEY=env-key "$CLI" task list --url "$URL"
    check "task list: then TASKER_API_KEY in X-API-Key" all 'rc_is 0' 'out_is "auth= key=env-key custom="'
    run "${CLEAN[@]}" TASKER_API_KEY=env-key TASKER_API_KEY_HEADER=X-Custom-Key "$CLI" task list --url "$URL"
    check "task list: TASKER_API_KEY_HEADER names the header" all 'rc_is 0' 'out_is "auth= key= custom=env-key"'

    cat >"$WORK/tasker-client.toml" <<EOF
[orchestration]
base_url = "$URL"
auth_token = "config-tok"

[worker]
base_url = "$URL"
api_key = "config-worker-key"
api_key_header = "X-Custom-Key"
EOF
    run "${CLEAN[@]}" TASKER_API_KEY=env-key "$CLI" task list
    check "task list: TASKER_API_KEY beats the client config file" all 'rc_is 0' 'out_is "auth= key=env-key custom="'
    run "${CLEAN[@]}" "$CLI" task list
    check "task list: ./tasker-client.toml gives base_url and auth_token" all 'rc_is 0' 'out_is "auth=Bearer config-tok key= custom="'
    run "${CLEAN[@]}" "$CLI" task list --worker
    check "task list --worker: the [worker] table's api_key and api_key_header" all 'rc_is 0' 'out_is "auth= key= custom=config-worker-key"'
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=generic-tok "$CLI" task list
    check "task list: TASKER_AUTH_TOKEN beats the client config file" all 'rc_is 0' 'out_is "auth=Bearer generic-tok key= custom="'
    run "${CLEAN[@]}" "$CLI" task list --url "$URL/forbidden"
    check "task list: --url overrides base_url" all 'rc_is 1' 'err_has "permission denied (403)"'

    # tasker's own client files (tasker-client ApiEndpointConfig) carry the credential as
    # auth.method, preferred to auth_token in the same table, beside keys this CLI does not use.
    cat >"$WORK/tasker-client.toml" <<EOF
[orchestration]
base_url = "$URL"
timeout_ms = 30000
max_retries = 3
auth_token = "legacy-tok"

[orchestration.auth]
method = { type = "ApiKey", value = { key = "tasker-method-key", header_name = "X-Custom-Key" } }

[worker]
base_url = "$URL"
auth = { method = { type = "BearerToken", value = "tasker-method-tok" } }
EOF
    run "${CLEAN[@]}" "$CLI" task list
    check "task list: tasker's auth.method ApiKey, with its header_name, beats auth_token" \
        all 'rc_is 0' 'out_is "auth= key= custom=tasker-method-key"'
    run "${CLEAN[@]}" "$CLI" task list --worker
    check "task list --worker: tasker's auth.method BearerToken" all 'rc_is 0' 'out_is "auth=Bearer tasker-method-tok key= custom="'
    printf '[orchestration]\nbase_url = "%s"\nauth = { method = { type = "ApiKey", value = { key = "k-default-hdr" } } }\n' \
        "$URL" >"$WORK/tasker-client.toml"
    run "${CLEAN[@]}" "$CLI" task list
    check "task list: auth.method ApiKey without header_name uses X-API-Key" all 'rc_is 0' 'out_is "auth= key=k-default-hdr custom="'
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=generic-tok "$CLI" task list
    check "task list: TASKER_AUTH_TOKEN beats the file's auth.method" all 'rc_is 0' 'out_is "auth=Bearer generic-tok key= custom="'
    run "${CLEAN[@]}" "$CLI" task list --url "$URL/unauthorized"
    check "task list 401: names auth.method as the source, never the key" \
        all 'rc_is 1' err_one_line 'err_has "[orchestration] auth.method"' '! grep -qF k-default-hdr <<<"$ERR"'
    for body in 'auth = "secret-m1"' 'auth = { method = "secret-m2" }' \
                'auth = { method = { type = "Basic", value = "secret-m3" } }' \
                'auth = { method = { type = "BearerToken", value = 7 } }' \
                'auth = { method = { type = "BearerToken", value = "" } }' \
                'auth = { method = { type = "ApiKey", value = "secret-m4" } }' \
                'auth = { method = { type = "ApiKey", value = { header_name = "X-K" } } }' \
                'auth = { method = { type = "ApiKey", value = { key = 5 } } }'; do
        printf '[orchestration]\n%s\n' "$body" >"$WORK/tasker-client.toml"
        run "${CLEAN[@]}" "$CLI" task list --url "$URL"
        check "task list: a malformed auth.method ($body) is exit 1, one line naming it, no value" \
            all 'rc_is 1' err_one_line 'err_has "tasker-client.toml [orchestration] auth.method"' \
            '! grep -qF secret-m <<<"$ERR"' '[ -z "$OUT" ]'
    done

    printf '[orchestration]\nbase_url = "%s"\nauth_token = "config-tok"\n' "$URL" >"$WORK/tasker-client.toml"
    mkdir -p "$H/.tasker"
    printf '[orchestration]\nbase_url = "%s"\nauth_token = "home-tok"\n' "$URL" >"$H/.tasker/client.toml"
    run "${CLEAN[@]}" "$CLI" task list
    check "task list: ./tasker-client.toml is preferred over ~/.tasker/client.toml" all 'rc_is 0' 'out_has "Bearer config-tok"'
    rm "$WORK/tasker-client.toml"
    run "${CLEAN[@]}" "$CLI" task list
    check "task list: ~/.tasker/client.toml is read when ./tasker-client.toml is absent" all 'rc_is 0' 'out_is "auth=Bearer home-tok key= custom="'
    printf '[orchestration]\nbase_url = "%s"\napi_key = "home-key"\n' "$URL" >"$H/.tasker/client.toml"
    run "${CLEAN[@]}" "$CLI" task list
    check "task list: a config api_key goes in X-API-Key by default" all 'rc_is 0' 'out_is "auth= key=home-key custom="'
    rm -r "$H/.tasker"

    # tasker's other places for a plain client file: ~/.tasker/config.toml (its --config
    # default) comes before ~/.config/tasker/client.toml and ~/.tasker/client.toml.
    mkdir -p "$H/.tasker" "$H/xdg/tasker"
    printf '[orchestration]\nbase_url = "%s"\nauth_token = "home-config-tok"\n' "$URL" >"$H/.tasker/config.toml"
    printf '[orchestration]\nbase_url = "%s"\nauth_token = "home-client-tok"\n' "$URL" >"$H/.tasker/client.toml"
    printf '[orchestration]\nbase_url = "%s"\nauth_token = "xdg-tok"\n' "$URL" >"$H/xdg/tasker/client.toml"
    run "${CLEAN[@]}" "$CLI" task list
    check "task list: ~/.tasker/config.toml (tasker's default client file) comes before ~/.tasker/client.toml" \
        all 'rc_is 0' 'out_is "auth=Bearer home-config-tok key= custom="'
    rm "$H/.tasker/config.toml"
    run "${CLEAN[@]}" XDG_CONFIG_HOME="$H/xdg" "$CLI" task list
    check "task list: then \$XDG_CONFIG_HOME/tasker/client.toml" all 'rc_is 0' 'out_is "auth=Bearer xdg-tok key= custom="'
    rm -r "$H/.tasker" "$H/xdg"

    # tasker's profile files (tasker-client's TAS-177 profiles): [profile.default], then the
    # chosen profile over it, chosen with --profile (also before the command, as tasker's CLI
    # takes it) or TASKER_CLIENT_PROFILE; a plain run does not read them.
    mkdir -p "$WORK/.config"
    cat >"$WORK/.config/tasker-client.toml" <<EOF
[profile.default]
transport = "rest"

[profile.default.orchestration]
base_url = "$URL/forbidden"
timeout_ms = 30000

[profile.default.worker]
base_url = "$URL"
auth = { method = { type = "BearerToken", value = "default-worker-tok" } }

[profile.auth.orchestration]
base_url = "$URL"

[profile.auth.orchestration.auth]
method = { type = "ApiKey", value = { key = "profile-key-1", header_name = "X-Custom-Key" } }

[profile.grpc]
transport = "grpc"

[profile.grpc.orchestration]
base_url = "http://127.0.0.1:1"
EOF
    run "${CLEAN[@]}" "$CLI" task list --profile auth
    check "task list --profile auth: the profile's base_url and auth.method" all 'rc_is 0' 'out_is "auth= key= custom=profile-key-1"'
    run "${CLEAN[@]}" "$CLI" task list -p auth
    check "task list -p auth: the same" all 'rc_is 0' 'out_is "auth= key= custom=profile-key-1"'
    run "${CLEAN[@]}" "$CLI" --profile auth task list
    check "tasker-ctl --profile auth task list: before the command, as in tasker's CLI" all 'rc_is 0' 'out_is "auth= key= custom=profile-key-1"'
    run "${CLEAN[@]}" "$CLI" -p default task list -p auth
    check "tasker-ctl -p default task list -p auth: the command's own option wins" all 'rc_is 0' 'out_is "auth= key= custom=profile-key-1"'
    run "${CLEAN[@]}" TASKER_CLIENT_PROFILE=auth "$CLI" task list
    check "task list: TASKER_CLIENT_PROFILE chooses the profile" all 'rc_is 0' 'out_is "auth= key= custom=profile-key-1"'
    run "${CLEAN[@]}" "$CLI" task list --profile auth --worker
    check "task list --profile auth --worker: [profile.default.worker] where the profile has no worker table" \
        all 'rc_is 0' 'out_is "auth=Bearer default-worker-tok key= custom="'
    run "${CLEAN[@]}" "$CLI" task list --profile default
    check "task list --profile default: [profile.default] alone" all 'rc_is 1' 'err_has "permission denied (403)"'
    run "${CLEAN[@]}" "$CLI" task list --url "$URL"
    check "task list without a profile does not read the profile file" all 'rc_is 0' 'out_is "auth= key= custom="' 'err_has "no credentials"'
    run "${CLEAN[@]}" "$CLI" task list --profile auth --url "$URL/unauthorized"
    check "task list --profile auth 401: names the profile's auth.method, never the key" \
        all 'rc_is 1' err_one_line 'err_has ".config/tasker-client.toml [profile.auth.orchestration] auth.method"' \
        '! grep -qF profile-key-1 <<<"$ERR"'
    run "${CLEAN[@]}" TASKER_ORCHESTRATION_URL="$URL/unauthorized" "$CLI" task list --profile auth
    check "task list: TASKER_ORCHESTRATION_URL beats the profile's base_url" all 'rc_is 1' 'err_has "authentication failed (401)"'
    run "${CLEAN[@]}" TASKER_ORCHESTRATION_URL="$URL/unauthorized" "$CLI" task list --profile auth --url "$URL"
    check "task list: --url beats TASKER_ORCHESTRATION_URL" all 'rc_is 0' 'out_is "auth= key= custom=profile-key-1"'
    run "${CLEAN[@]}" TASKER_ORCHESTRATION_URL="ftp://svc:env-pass-1@example.com" "$CLI" task list --profile auth
    check "task list: a TASKER_ORCHESTRATION_URL that is not http(s) is exit 1 naming the variable, no password" \
        all 'rc_is 1' err_one_line 'err_has "TASKER_ORCHESTRATION_URL must start with http:// or https://"' '! grep -qF env-pass-1 <<<"$ERR"'
    run "${CLEAN[@]}" "$CLI" task list --profile nope
    check "task list --profile nope: exit 1 naming the file and its profiles" \
        all 'rc_is 1' err_one_line "err_has \"profile 'nope' (--profile) is not in .config/tasker-client.toml; its profiles: auth, default, grpc\"" \
        '! grep -qF profile-key-1 <<<"$ERR"'
    run "${CLEAN[@]}" TASKER_CLIENT_PROFILE=nope "$CLI" task list
    check "task list: an unknown TASKER_CLIENT_PROFILE is named as such" all 'rc_is 1' "err_has \"profile 'nope' (TASKER_CLIENT_PROFILE)\""
    run "${CLEAN[@]}" "$CLI" task list --profile grpc
    check "task list --profile grpc: refused (a REST call to a gRPC endpoint), naming the key" \
        all 'rc_is 1' err_one_line 'err_has "[profile.grpc] transport is \"grpc\""'
    run "${CLEAN[@]}" "$CLI" task list --profile grpc --url "$URL"
    check "task list --profile grpc --url: the REST URL given, the call is made" all 'rc_is 0' 'out_is "auth= key= custom="'
    printf '[orchestration]\nbase_url = "%s"\nauth_token = "flat-tok"\n' "$URL" >"$TMP/flat.toml"
    run "${CLEAN[@]}" "$CLI" task list --profile auth --config "$TMP/flat.toml"
    check "task list --config FILE: that plain file, over a profile" all 'rc_is 0' 'out_is "auth=Bearer flat-tok key= custom="'
    run "${CLEAN[@]}" "$CLI" -c "$TMP/flat.toml" task list
    check "tasker-ctl -c FILE task list: the same, before the command" all 'rc_is 0' 'out_is "auth=Bearer flat-tok key= custom="'
    run "${CLEAN[@]}" "$CLI" task list --config "$TMP/missing.toml" --url "$URL"
    check "task list --config with a missing file: exit 1 naming it" all 'rc_is 1' err_one_line 'err_has "$TMP/missing.toml"'
    run "${CLEAN[@]}" "$CLI" task list --config= --url "$URL"
    check "task list --config= (empty): usage error" usage_error
    run "${CLEAN[@]}" "$CLI" -p
    check "tasker-ctl -p without a value: usage error" usage_error
    run "${CLEAN[@]}" "$CLI" -p auth auth show-permissions
    check "tasker-ctl -p NAME with an auth command: accepted, not read" all 'rc_is 0' 'out_has "tasks:create"'
    cat >"$WORK/.config/tasker.toml" <<EOF
[profile.auth.orchestration]
base_url = "$URL"
auth = { method = { type = "BearerToken", value = "unified-tok" } }

[cli]
default_format = "table"
EOF
    run "${CLEAN[@]}" "$CLI" task list --profile auth
    check "task list --profile: .config/tasker.toml (tasker's unified file) comes first" all 'rc_is 0' 'out_is "auth=Bearer unified-tok key= custom="'
    printf '[profile.auth]\ntransport = "soap"\n' >"$WORK/.config/tasker.toml"
    run "${CLEAN[@]}" "$CLI" task list --profile auth
    check "task list: a profile transport other than rest or grpc is exit 1 naming it" \
        all 'rc_is 1' err_one_line 'err_has ".config/tasker.toml [profile.auth] transport must be"'
    printf '[profile]\nauth = "secret-p1"\n' >"$WORK/.config/tasker.toml"
    run "${CLEAN[@]}" "$CLI" task list --profile auth
    check "task list: a profile that is not a table is exit 1 naming it, not its value" \
        all 'rc_is 1' err_one_line 'err_has "[profile.auth] must be a table"' '! grep -qF secret-p1 <<<"$ERR"'
    rm -r "$WORK/.config"
    run "${CLEAN[@]}" "$CLI" task list --profile auth --url "$URL"
    check "task list --profile without any profile file: exit 1 saying where it looked" \
        all 'rc_is 1' err_one_line 'err_has "needs a profile file"'
    run "${CLEAN[@]}" "$CLI" task list --profile default --url "$URL"
    check "task list --profile default without a profile file: the defaults" all 'rc_is 0' 'out_is "auth= key= custom="'

    run "${CLEAN[@]}" "$CLI" task list --url "$URL"
    check "task list without any credential: warns and sends none" all 'rc_is 0' 'out_is "auth= key= custom="' 'err_has "no credentials"'
    for to in /dev/full -; do
        why=$([ "$to" = - ] && echo "Bad file descriptor" || echo "No space left on device")
        run_out "$to" "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "$URL"
        check "task list, stdout $to: exit 1, '$why'" stdout_failed "$why"
        run_out "$to" "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "$URL/bigok"
        check "task list of a 300 kB body, stdout $to: exit 1, '$why'" stdout_failed "$why"
    done
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "$URL/bigok"
    check "task list of a 300 kB body: printed whole" all 'rc_is 0' '[ "${#OUT}" -eq 300000 ]'

    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=very-secret-token "$CLI" task list --url "$URL/unauthorized"
    check "task list 401: exit 1, 'authentication failed (401)' with the server's message" \
        all 'rc_is 1' 'err_has "authentication failed (401): Invalid or expired token"' err_one_line 'out_has "\"error\":\"unauthorized\""'
    check "task list 401: names the credential's source, never its value" \
        all 'err_has TASKER_AUTH_TOKEN' '! grep -qF very-secret-token <<<"$ERR"'
    run "${CLEAN[@]}" TASKER_API_KEY=very-secret-key "$CLI" task list --url "$URL/forbidden"
    check "task list 403: exit 1, 'permission denied (403)' with the server's message" \
        all 'rc_is 1' 'err_has "permission denied (403): Missing required permission: tasks:list"' err_one_line '! grep -qF very-secret-key <<<"$ERR"'
    # The server's text in a message is cut to 200 characters, control bytes shown as spaces.
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "$URL/bigmsg"
    check "task list 401 with a 300 kB JSON message: one line with the message cut to 200 characters" \
        all 'rc_is 1' err_one_line '[ "${#ERR}" -lt 400 ]' "err_has \"authentication failed (401):  [31m$(printf 'M%.0s' $(seq 195))...\"" \
            '! grep -q "$(printf "\033")" "$TMP/.err"'
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "$URL/bigtitle"
    check "task list 403 with a 300 kB HTML title: one line with the title cut to 200 characters" \
        all 'rc_is 1' err_one_line '[ "${#ERR}" -lt 400 ]' "err_has \"permission denied (403):  [31m$(printf 'T%.0s' $(seq 195))...\"" \
            '! grep -q "$(printf "\033")" "$TMP/.err"'
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "$URL/broken/"
    check "task list 500: exit 1, the body is still printed" all 'rc_is 1' 'err_has 500' 'out_has "upstream exploded"'
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url http://127.0.0.1:1
    check "task list: connection refused is exit 1 with one line" all 'rc_is 1' err_one_line
    # A password in the URL is a credential: messages show "***@" in its place.
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "http://svc:url-pass-1@127.0.0.1:1/base"
    check "task list: a failed GET never shows the URL's user:password" \
        all 'rc_is 1' err_one_line '! grep -qF url-pass-1 <<<"$ERR"' 'err_has "http://***@127.0.0.1:1/base/v1/tasks"'
    # A password with an unescaped '/', '?' or '#' (or '@') is hidden too: everything between
    # "://" and the last '@' is, even where libcurl would read part of it as the host or path.
    for pw in 'pw/sec-A1' 'pw?sec-A2' 'pw#sec-A3' 'pw@sec-A4'; do
        run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "http://svc:$pw@127.0.0.1:1"
        check "task list --url with the password '${pw%%sec*}...': one line, never the password" \
            all '! rc_is 0' err_one_line '! grep -qF sec-A <<<"$ERR"' 'err_has "http://***@127.0.0.1:1"'
    done
    run "${CLEAN[@]}" "$CLI" task list --url "ftp://svc:pw/sec-A5@example.com"
    check "task list --url ftp://... with a '/' in the password: usage error without the password" \
        all usage_error '! grep -qF sec-A5 <<<"$ERR"' 'err_has "ftp://***@example.com"'
    run "${CLEAN[@]}" TASKER_ORCHESTRATION_URL="ftp://svc:pw/sec-A6@example.com" "$CLI" task list
    check "task list: TASKER_ORCHESTRATION_URL with a '/' in the password: exit 1 without the password" \
        all 'rc_is 1' err_one_line '! grep -qF sec-A6 <<<"$ERR"' 'err_has "ftp://***@example.com"'
    # /v1/tasks is appended to the base URL: one without a host, or with a query or fragment
    # (which would come before the path), is refused, its password still hidden.
    for u in 'http://' 'https:///' 'http:///v1' 'http://svc:pw-sec-B1@' 'http://svc:pw-sec-B2@:8080/x' 'http://[]:80'; do
        run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "$u"
        check "task list --url '${u//sec-*/...}': usage error, no host" \
            all usage_error 'err_has "--url has no host"' '! grep -qF sec-B <<<"$ERR"'
    done
    for u in 'http://127.0.0.1:1/?q=1' 'http://127.0.0.1:1#f' 'http://svc:pw-sec-B3@127.0.0.1:1/base?'; do
        run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "$u"
        check "task list --url '${u//sec-*/...}': usage error, a query or fragment" \
            all usage_error 'err_has "--url must not have a query or fragment"' '! grep -qF sec-B <<<"$ERR"'
    done
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t TASKER_ORCHESTRATION_URL="http://127.0.0.1:1/x?q=1" "$CLI" task list
    check "task list: a TASKER_ORCHESTRATION_URL with a query is exit 1 naming the variable" \
        all 'rc_is 1' err_one_line 'err_has "TASKER_ORCHESTRATION_URL must not have a query or fragment"'
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "http://[::1]:1"
    check "task list --url with an IPv6 host: accepted (the connection fails, exit 1)" \
        all 'rc_is 1' err_one_line 'err_has "GET http://[::1]:1/v1/tasks failed"'
    run "${CLEAN[@]}" "$CLI" task list --url "htp://svc:url-pass-2@example.com"
    check "task list --url with a bad scheme: usage error without the URL's password" \
        all usage_error '! grep -qF url-pass-2 <<<"$ERR"'
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "http://svc:url-pass-3@127.0.0.1:$PORT/broken"
    check "task list: an HTTP error never shows the URL's user:password" \
        all 'rc_is 1' 'err_has 500' '! grep -qF url-pass-3 <<<"$ERR"'
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list --url "HTTP://127.0.0.1:$PORT"
    check "task list --url HTTP://...: the scheme in either case, as libcurl takes it" all 'rc_is 0' 'out_is "auth=Bearer t key= custom="'
    run "${CLEAN[@]}" "$CLI" task list --url ftp://example.com
    check "task list --url ftp://...: usage error" usage_error
    printf '[orchestration\nbase_url = 1\n' >"$WORK/tasker-client.toml"
    run "${CLEAN[@]}" "$CLI" task list --url "$URL"
    check "task list: a broken client config file is exit 1 naming the file" \
        all 'rc_is 1' err_one_line 'err_has tasker-client.toml'
    printf '[orchestration]\nbase_url = "ftp://svc:cfg-pass-1@example.com"\n' >"$WORK/tasker-client.toml"
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list
    check "task list: a base_url that is not http(s) is exit 1 naming the file's key, no password" \
        all 'rc_is 1' err_one_line 'err_has "./tasker-client.toml [orchestration] base_url must start with http:// or https://"' \
        '! grep -qF cfg-pass-1 <<<"$ERR"'
    printf '[orchestration]\nbase_url = "http://svc:pw-sec-C1@"\n' >"$WORK/tasker-client.toml"
    run "${CLEAN[@]}" TASKER_AUTH_TOKEN=t "$CLI" task list
    check "task list: a base_url without a host is exit 1 naming the file's key, no password" \
        all 'rc_is 1' err_one_line 'err_has "./tasker-client.toml [orchestration] base_url has no host"' \
        '! grep -qF sec-C1 <<<"$ERR"'
    printf '[orchestration]\nauth_token = 42\n' >"$WORK/tasker-client.toml"
    run "${CLEAN[@]}" "$CLI" task list --url "$URL"
    check "task list: a non-string auth_token in the config file is exit 1" all 'rc_is 1' 'err_has auth_token'
    # Text toml++ 3.3.0 aborts on (assertions) or overflows its stack with: the CLI reads the
    # client config file through the module's TOML guard, so each is one error line, no crash.
    for body in $'[\n' '[[[1]]]' $'[orchestration]\na = [1, }]\n' \
                "[orchestration]"$'\n'"a = $(printf '[%.0s' $(seq 3000))$(printf ']%.0s' $(seq 3000))"; do
        printf '%s' "$body" >"$WORK/tasker-client.toml"
        run timeout 30 "${CLEAN[@]}" "$CLI" task list --url "$URL"
        desc=${body//$'\n'/\\n}
        check "task list: client config '${desc:0:30}...' (toml++ cannot take it) is exit 1, one line naming the file" \
            all 'rc_is 1' err_one_line 'err_has "cannot parse ./tasker-client.toml"' '[ -z "$OUT" ]'
    done
    rm -f "$WORK/tasker-client.toml"
    mkfifo "$WORK/tasker-client.toml"
    run timeout 30 "${CLEAN[@]}" "$CLI" task list --url "$URL"
    check "task list: a FIFO as the client config file is exit 1 at once (not waited on)" \
        all 'rc_is 1' err_one_line 'err_has "./tasker-client.toml: cannot read: not a regular file"'
    rm -f "$WORK/tasker-client.toml"
    mkdir "$WORK/tasker-client.toml"
    run timeout 30 "${CLEAN[@]}" "$CLI" task list --url "$URL"
    check "task list: a directory as the client config file is exit 1 naming it (not silently skipped)" \
        all 'rc_is 1' err_one_line 'err_has "./tasker-client.toml: cannot read: Is a directory"'
    rmdir "$WORK/tasker-client.toml"
    cd "$TMP" || exit 1
fi

# ---- round trip through nginx with the module (only when the module is built) ----------------------

if [ -f "$MODULE" ]; then
    mkdir -p "$TMP/mod/www/v1"
    echo '{"tasks":[]}' >"$TMP/mod/www/v1/tasks"
    chmod o+x "$TMP" "$TMP/mod"  # nginx workers (nobody) serve the file; keys stay 0600
    chmod -R o+rX "$TMP/mod/www"
    MOD_CONF="load_module $MODULE;
error_log $TMP/mod/error.log info;
events { worker_connections 64; }
http {
    access_log off; $HTTP_TEMP
    server {
        listen 127.0.0.1:@PORT@;
        root $TMP/mod/www;
        default_type application/json;
        @READY@
        location /v1/ {
            tasker_auth on;
            tasker_jwt_public_key_path $K/rsa/jwt-public-key.pem;
            tasker_permission GET tasks:list;
        }
    }
}"
    if start_nginx "$TMP/mod" "$MOD_CONF"; then
        MURL=http://127.0.0.1:$PORT
        run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:list
        run env -i "PATH=$PATH" "HOME=$TMP" TASKER_AUTH_TOKEN="$OUT" "$CLI" task list --url "$MURL"
        check "module: a generate-token token passes the module (200)" all 'rc_is 0' 'out_has "\"tasks\""'
        run "$CLI" auth generate-token --private-key "$K/rsa/jwt-private-key.pem" --permissions tasks:read
        run env -i "PATH=$PATH" "HOME=$TMP" TASKER_AUTH_TOKEN="$OUT" "$CLI" task list --url "$MURL"
        check "module: a token without tasks:list gets 403 with the module's message" \
            all 'rc_is 1' 'err_has "permission denied (403): Missing required permission: tasks:list"'
        run env -i "PATH=$PATH" "HOME=$TMP" TASKER_AUTH_TOKEN="$(tamper "${TOKEN[rsa]}")" "$CLI" task list --url "$MURL"
        check "module: a tampered token gets 401 with the module's message" \
            all 'rc_is 1' 'err_has "authentication failed (401): Invalid or expired token"'
        # the module and validate-token reject a bad token for the same reason (one core)
        for case in tampered expired; do
            if [ "$case" = tampered ]; then
                BAD=$(tamper "${TOKEN[rsa]}")
            else
                BAD=$(mint "$K/rsa/jwt-private-key.pem" RS256 '{"sub":"old","iss":"tasker-core","aud":"tasker-api","iat":now-7200,"exp":now-3600,"permissions":["tasks:list"]}')
            fi
            : >"$TMP/mod/error.log"
            run env -i "PATH=$PATH" "HOME=$TMP" TASKER_AUTH_TOKEN="$BAD" "$CLI" task list --url "$MURL"
            MODULE_REASON=$(sed -n 's/.*tasker_auth: authentication failed .* status=\([a-z_]*\).*/\1/p' "$TMP/mod/error.log" | head -1)
            run "$CLI" auth validate-token --token "$BAD" --public-key "$K/rsa/jwt-public-key.pem"
            check "module and validate-token reject the $case token for the same reason ($MODULE_REASON)" \
                all 'rc_is 1' '[ -n "$MODULE_REASON" ]' 'err_has "invalid: $MODULE_REASON"'
        done
    else
        check "module: start nginx with the module" false
    fi
else
    echo "# skipped: module round trip ($MODULE not built)"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
