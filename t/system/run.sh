#!/bin/sh
# System tests (reload under traffic, multi-worker metrics and JWKS, nginx -t of the examples).
exec "${TEST_NGINX_PYTHON:-/usr/bin/python3}" "$(dirname "$0")/test_system.py" "$@"
