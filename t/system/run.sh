#!/bin/sh
# System tests (reload under traffic, multi-worker metrics and JWKS, JWKS across reloads that
# change the URLs, nginx -t of the examples).
"${TEST_NGINX_PYTHON:-/usr/bin/python3}" "$(dirname "$0")/test_toml_reload.py" || exit 1
"${TEST_NGINX_PYTHON:-/usr/bin/python3}" "$(dirname "$0")/test_system.py" "$@" || exit 1
"${TEST_NGINX_PYTHON:-/usr/bin/python3}" "$(dirname "$0")/test_jwks_reload.py" || exit 1
exec "${TEST_NGINX_PYTHON:-/usr/bin/python3}" "$(dirname "$0")/test_reload_memory.py"
