#!/usr/bin/env bash
# shellcheck disable=SC2016  # curl commands are printed as written, with $VARS, then eval'd
# Local demo of ngx_http_tasker_auth_module (run by `make demo`, after `make`).
#
# Starts a stand-in tasker backend (127.0.0.1:18080 and :18081) and two nginx instances with
# conf-examples/orchestration.conf (:8080) and conf-examples/worker.conf (:8081), prefix
# build/demo. Generates RSA keys into conf-examples/keys (reused when present) and two tokens,
# then shows 401, 403 and 200 responses, a public /health and /metrics, printing every curl
# command first. Then it keeps serving until Ctrl-C, and stops what it started. The other
# examples (api-keys.conf, jwks.conf) are checked with `nginx -t` only.
#
#   scripts/demo.sh              interactive: serve until Ctrl-C (which exits 0 after cleaning up)
#   scripts/demo.sh --once       exit after the showcase (also DEMO_NONINTERACTIVE=1)
#
# Exit status: 0 when every response had the expected status (or on Ctrl-C), 1 otherwise, 2 on
# usage errors.
# Environment: NGINX_BIN (default /usr/sbin/nginx).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$REPO/build
PREFIX=$BUILD/demo
CONF_DIR=$REPO/conf-examples
KEYS=$CONF_DIR/keys
MODULE_SO=$BUILD/ngx_http_tasker_auth_module.so
CLI=$BUILD/tasker-ctl
NGINX=${NGINX_BIN:-/usr/sbin/nginx}
PYTHON=/usr/bin/python3
CONFS=(orchestration worker)
GATEWAY_PORTS=(8080 8081)
BACKEND_PORTS=(18080 18081)

ONCE=0
case ${DEMO_NONINTERACTIVE:-0} in 0|"") ;; *) ONCE=1 ;; esac
for arg in "$@"; do
    case $arg in
        --once) ONCE=1 ;;
        -h|--help) sed -n '3,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "demo.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

if [ -t 1 ]; then B=$'\e[1m'; R=$'\e[31m'; G=$'\e[32m'; N=$'\e[0m'; else B='' R='' G='' N=''; fi
say()  { printf '%s\n' "$*"; }
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
die()  { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
# Paths as the user would type them: relative when run from the repository root.
show_path() { if [ "$PWD" = "$REPO" ]; then printf '%s' "${1#"$REPO"/}"; else printf '%s' "$1"; fi; }
# Print a command, then run it.
run() { printf '$ %s\n' "$*"; "$@"; }

# ---- cleanup: stop exactly what this script started -------------------------------------------
NGINX_PIDS=()
BACKEND_PID=
# shellcheck disable=SC2317  # reached through the traps below
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${NGINX_PIDS[@]}"; do
        kill -QUIT "$pid" 2>/dev/null || true
    done
    if [ -n "$BACKEND_PID" ]; then
        kill -TERM "$BACKEND_PID" 2>/dev/null || true
        wait "$BACKEND_PID" 2>/dev/null || true
    fi
    for pid in "${NGINX_PIDS[@]}"; do            # graceful quit, then give up after 5 s
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    if [ ${#NGINX_PIDS[@]} -gt 0 ] || [ -n "$BACKEND_PID" ]; then say "demo: stopped nginx and the backend"; fi
    if [ "$INTERRUPTED" = 1 ]; then rc=0; fi
    exit "$rc"
}
INTERRUPTED=0
trap cleanup EXIT
# Ctrl-C is how the demo is meant to end: clean up (the EXIT trap) and exit 0, so that `make demo`
# does not report "Error 130". SIGTERM is not a user's Ctrl-C: it keeps the conventional 143.
trap 'INTERRUPTED=1; printf "\n"; exit 0' INT
trap 'exit 143' TERM

# ---- preconditions ----------------------------------------------------------------------------
[ -f "$MODULE_SO" ] || die "$(show_path "$MODULE_SO") not found: run \`make\` first"
[ -x "$CLI" ]       || die "$(show_path "$CLI") not found: run \`make\` first"
[ -x "$NGINX" ]     || die "nginx not found at $NGINX (set NGINX_BIN, or run \`make deps\`)"
[ -x "$PYTHON" ]    || die "$PYTHON not found (run \`make deps\`)"
command -v curl >/dev/null || die "curl not found (run \`make deps\`)"

# A port is free when we can bind it ourselves (SO_REUSEADDR, as nginx does).
port_free() {
    "$PYTHON" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)' "$1" "$2"
}
busy=()
for p in "${GATEWAY_PORTS[@]}"; do port_free 0.0.0.0 "$p" || busy+=("$p"); done
for p in "${BACKEND_PORTS[@]}"; do port_free 127.0.0.1 "$p" || busy+=("$p"); done
if [ ${#busy[@]} -gt 0 ]; then
    alternatives=$(IFS='|'; printf '%s' "${busy[*]}")
    die "port(s) ${busy[*]} already in use; the demo needs 8080, 8081, 18080 and 18081.
      See who holds them:  ss -ltnp | grep -E ':($alternatives)\\b'
      (a previous demo still running? stop it with Ctrl-C in its terminal)"
fi

# ---- prefix -----------------------------------------------------------------------------------
step "nginx prefix $(show_path "$PREFIX")"
mkdir -p "$PREFIX/logs" "$PREFIX/tmp" "$PREFIX/modules" "$PREFIX/tokens"
ln -sfn "$MODULE_SO" "$PREFIX/modules/ngx_http_tasker_auth_module.so"
say "modules/ngx_http_tasker_auth_module.so -> $MODULE_SO"

# ---- keys -------------------------------------------------------------------------------------
step "signing keys in $(show_path "$KEYS")"
if [ -f "$KEYS/jwt-private-key.pem" ] && [ -f "$KEYS/jwt-public-key.pem" ]; then
    say "reusing the existing key pair (delete $(show_path "$KEYS") to get a new one)"
    # The example configurations allow RS256 only.
    if ! grep -q 'BEGIN RSA PUBLIC KEY' "$KEYS/jwt-public-key.pem" && command -v openssl >/dev/null \
       && openssl pkey -pubin -in "$KEYS/jwt-public-key.pem" -noout -text >/dev/null 2>&1 \
       && ! openssl pkey -pubin -in "$KEYS/jwt-public-key.pem" -noout -text 2>/dev/null | grep -q Modulus; then
        die "$(show_path "$KEYS") holds a non-RSA key, but the example configurations allow RS256 only.
      Remove that directory (or move it aside) and run the demo again."
    fi
elif [ -e "$KEYS/jwt-private-key.pem" ] || [ -e "$KEYS/jwt-public-key.pem" ]; then
    die "$(show_path "$KEYS") holds only half a key pair; remove it and run the demo again"
else
    run "$(show_path "$CLI")" auth generate-keys --output-dir "$(show_path "$KEYS")" \
        || die "tasker-ctl auth generate-keys failed"
fi

# ---- tokens -----------------------------------------------------------------------------------
step "tokens"
mint() {  # mint FILE SUBJECT PERMISSIONS
    local file=$1 subject=$2 perms=$3
    printf '$ %s auth generate-token --private-key %s --permissions %s --subject %s --expiry-hours 24 > %s\n' \
        "$(show_path "$CLI")" "$(show_path "$KEYS/jwt-private-key.pem")" "$perms" "$subject" "$(show_path "$file")"
    ( umask 077; "$CLI" auth generate-token --private-key "$KEYS/jwt-private-key.pem" \
        --permissions "$perms" --subject "$subject" --expiry-hours 24 >"$file" 2>"$file.log" ) \
        || { cat "$file.log" >&2; die "tasker-ctl auth generate-token failed"; }
    [ -s "$file" ] || die "tasker-ctl auth generate-token printed no token"
}
mint "$PREFIX/tokens/full.jwt" demo-admin tasks:create,tasks:read,tasks:list
mint "$PREFIX/tokens/read.jwt" demo-reader tasks:read
# shellcheck disable=SC2034  # used by the commands check() evals
FULL_TOKEN=$(cat "$PREFIX/tokens/full.jwt")
# shellcheck disable=SC2034
READ_TOKEN=$(cat "$PREFIX/tokens/read.jwt")
TOKEN_VARS="FULL_TOKEN=\$(cat $(show_path "$PREFIX/tokens/full.jwt"))   # tasks:create,tasks:read,tasks:list
READ_TOKEN=\$(cat $(show_path "$PREFIX/tokens/read.jwt"))   # tasks:read"

# ---- backend ----------------------------------------------------------------------------------
step "stand-in tasker backend on 127.0.0.1:${BACKEND_PORTS[0]} and :${BACKEND_PORTS[1]}"
printf '$ %s %s %s &\n' "$PYTHON" "$(show_path "$REPO/scripts/demo_backend.py")" "${BACKEND_PORTS[*]}"
"$PYTHON" "$REPO/scripts/demo_backend.py" "${BACKEND_PORTS[@]}" >"$PREFIX/logs/demo-backend.log" 2>&1 &
BACKEND_PID=$!
for p in "${BACKEND_PORTS[@]}"; do
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
        kill -0 "$BACKEND_PID" 2>/dev/null || { cat "$PREFIX/logs/demo-backend.log" >&2; die "the backend exited"; }
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || die "the backend does not listen on 127.0.0.1:$p"
done

# ---- nginx ------------------------------------------------------------------------------------
# Absolute -p and -c: nginx resolves a relative -c against the prefix, not the current directory.
for c in "${CONFS[@]}"; do
    step "nginx with $(show_path "$CONF_DIR/$c.conf")"
    run "$NGINX" -p "$PREFIX" -c "$CONF_DIR/$c.conf" -t 2>&1 \
        || die "nginx -t failed for $c.conf (see above)"
done
step "the other examples, checked only"
for c in api-keys jwks; do
    run "$NGINX" -q -p "$PREFIX" -c "$CONF_DIR/$c.conf" -t 2>&1 \
        || die "nginx -t failed for $c.conf (see above)"
    say "ok"
done

step "starting nginx"
# The error logs grow across runs; remember where this run starts, to show only its lines.
declare -A LOG_START
for c in "${CONFS[@]}"; do
    log=$PREFIX/logs/$c-error.log
    LOG_START[$c]=$(stat -c %s "$log" 2>/dev/null || echo 0)
done
for c in "${CONFS[@]}"; do
    pidfile=$PREFIX/logs/$c.pid
    rm -f "$pidfile"            # stale or left empty by nginx -t; its ports were free, so nothing runs
    run "$NGINX" -p "$PREFIX" -c "$CONF_DIR/$c.conf" \
        || die "nginx failed to start with $c.conf; see $(show_path "$PREFIX/logs/$c-error.log")"
    for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    [ -s "$pidfile" ] || die "nginx wrote no pid file ($(show_path "$pidfile"))"
    NGINX_PIDS+=("$(cat "$pidfile")")
done
for p in "${GATEWAY_PORTS[@]}"; do          # wait until the workers answer
    for _ in $(seq 50); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$p/health")" = 200 ] && break
        sleep 0.1
    done
done

# ---- showcase ---------------------------------------------------------------------------------
FAILURES=()
# check EXPECTED_STATUS TITLE COMMAND: prints the command, runs it (curl -i), prints the
# response, and records a failure when the status differs.
check() {
    local expect=$1 title=$2 cmd=$3 out status
    printf '\n%s# %s%s\n$ %s\n' "$B" "$title" "$N" "$cmd"
    out=$(eval "$cmd" 2>&1 | tr -d '\r') || true
    status=$(printf '%s\n' "$out" | awk 'NR == 1 && /^HTTP\// { print $2 }')
    if [ "${FILTER:-}" ]; then out=$(printf '%s\n' "$out" | grep -Ev "$FILTER" || true); fi
    printf '%s\n' "$out" | sed 's/^/    /'
    if [ "$status" = "$expect" ]; then
        printf '%s=> %s, as expected%s\n' "$G" "$status" "$N"
    else
        printf '%s=> got %s, expected %s%s\n' "$R" "${status:-no response}" "$expect" "$N"
        FAILURES+=("$title: got ${status:-no response}, expected $expect")
    fi
}

step "requests (the tokens are in shell variables; to repeat these yourself, first run:)"
printf '%s\n' "$TOKEN_VARS" | sed 's/^/$ /'

check 401 "no credentials: 401 with a Bearer challenge" \
    'curl -sS -i http://localhost:8080/v1/tasks'
check 403 "read-only token creating a task: 403, tasks:create is missing" \
    'curl -sS -i -X POST -H "Authorization: Bearer $READ_TOKEN" -H "Content-Type: application/json" -d "{\"name\":\"demo\"}" http://localhost:8080/v1/tasks'
check 200 "full token listing tasks: 200 from the backend, which echoes the X-Tasker-* headers it got" \
    'curl -sS -i -H "Authorization: Bearer $FULL_TOKEN" http://localhost:8080/v1/tasks'
check 200 "public health check (tasker_auth off): no credentials needed" \
    'curl -sS -i http://localhost:8080/health'
check 200 "public worker health check on :8081" \
    'curl -sS -i http://localhost:8081/health'
FILTER='_bucket\{| 0$' check 200 "the module's Prometheus metrics (histogram buckets and zero-valued series omitted here)" \
    'curl -sS -i http://localhost:8080/metrics'

step "this run's tasker_auth lines in $(show_path "$PREFIX/logs/orchestration-error.log") (the last 5)"
this_run=$(tail -c +"$((LOG_START[orchestration] + 1))" "$PREFIX/logs/orchestration-error.log" 2>/dev/null \
    | grep -h 'tasker_auth:' | tail -n 5 || true)
if [ -n "$this_run" ]; then printf '%s\n' "$this_run" | sed 's/^/    /'; else say "    (none)"; fi

if [ ${#FAILURES[@]} -gt 0 ]; then
    printf '\n%sDEMO FAILED:%s\n' "$R" "$N" >&2
    printf '  %s\n' "${FAILURES[@]}" >&2
    printf 'logs: %s\n' "$(show_path "$PREFIX/logs")" >&2
    exit 1
fi
printf '\n%sdemo: all responses as expected%s\n' "$G" "$N"

if [ "$ONCE" = 1 ]; then
    exit 0
fi

printf '\nserving on http://localhost:8080 and :8081; Ctrl-C to stop\n'
printf 'try:  %s\n      curl -H "Authorization: Bearer $FULL_TOKEN" http://localhost:8080/v1/tasks\n' \
    "$(printf '%s' "$TOKEN_VARS" | head -n 1 | sed 's/ *#.*//')"
printf 'logs: %s\n' "$(show_path "$PREFIX/logs")"
wait "$BACKEND_PID" || true
# Ctrl-C reaches the backend too (same process group); the INT trap then ends the script with 0.
# Getting here otherwise means the backend died on its own.
BACKEND_PID=
die "the backend exited unexpectedly; see $(show_path "$PREFIX/logs/demo-backend.log")"
