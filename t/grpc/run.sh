#!/usr/bin/env bash
# gRPC integration tests (t/grpc/test_grpc.py), run by `make test`.
#
#   t/grpc/run.sh [unittest arguments, e.g. -k stream]
#
# Environment (set by the Makefile; defaults for running it by hand from anywhere):
#   TEST_NGINX_BINARY  nginx binary                (default /usr/sbin/nginx)
#   TEST_NGINX_MODULE  the module .so              (default <repo>/build/ngx_http_tasker_auth_module.so)
#   TEST_NGINX_PYTHON  Python with Debian's python3-grpcio, python3-jwt, python3-cryptography
#                      (default /usr/bin/python3; the first python3 on PATH may lack them)
#   TEST_GRPC_KEEP=1   keep the temporary prefix (nginx.conf, logs, keys) for debugging
#   TEST_GRPC_PORT_BASE=N  listen on N (nginx), N+1 (unanswered JWKS URL), N+2 (backend)
#                      instead of free ephemeral ports
#
# Prints unittest's verbose report, then one last line "N passed, M failed" for CI, and exits
# with the test run's status (0 only when nothing failed).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PYTHON=${TEST_NGINX_PYTHON:-/usr/bin/python3}
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_MODULE=${TEST_NGINX_MODULE:-$REPO/build/ngx_http_tasker_auth_module.so}

echo "== gRPC tests: $TEST_NGINX_BINARY with $TEST_NGINX_MODULE"

if ! "$PYTHON" -c 'import grpc, jwt, cryptography' 2>/dev/null; then
    echo "t/grpc/run.sh: $PYTHON lacks grpc, jwt or cryptography" \
         "(apt-get install python3-grpcio python3-jwt python3-cryptography)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

cd "$REPO" || exit 1
# test_grpc.py prints the "N passed, M failed" line itself, last, and exits 1 on any failure.
# Should it die before that (import error, crash), print a line for CI here instead.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$PYTHON" "$HERE/test_grpc.py" -v "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if ! tail -n 1 "$out" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$'; then
    echo "t/grpc/run.sh: test_grpc.py exited with status $rc without a summary" >&2
    echo "0 passed, 1 failed"
    [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
