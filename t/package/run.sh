#!/usr/bin/env bash
# Package test (make test-package; .ci/run runs it when root): the Debian package installs,
# enables the module, serves from Debian's nginx, and removes cleanly.
#
#   t/package/run.sh [build/deb/libnginx-mod-http-tasker-auth_<version>_<arch>.deb]
#
#   1. dpkg -i: the .so, the modules-available file, the modules-enabled link made by the
#      maintainer scripts, tasker-ctl and its man page are in place;
#   2. nginx -t of the system configuration (/etc/nginx/nginx.conf, which includes
#      modules-enabled) passes with the module enabled;
#   3. a private nginx (own nginx.conf, prefix in a temporary folder, port TEST_NGINX_SERVER_PORT,
#      default 1984) loading modules-enabled/*.conf like Debian's nginx.conf, with keys and a
#      token from the packaged tasker-ctl, answers 401, 403 and 200; it is stopped afterwards;
#   4. dpkg -r: nothing of the module is left enabled and nginx -t still passes;
#   5. dpkg --purge: no trace left in /etc/nginx/modules-enabled.
# The package is always purged on exit, also after a failure or Ctrl-C, so the machine is left
# without it. The system's nginx service is never started or stopped.
#
# Needs root, dpkg, curl and Debian's nginx (the package depends on its nginx-abi-*). Refuses to
# run when the package is already installed, since it removes it at the end.
# Prints "ok"/"not ok" lines and a last line "N passed, M failed"; exit 0 only when all passed.
set -u

REPO=$(cd "$(dirname "$0")/../.." && pwd)
PKG=libnginx-mod-http-tasker-auth
DEB=${1:-}
if [ -z "$DEB" ]; then
    DEB=$(find "$REPO/build/deb" -maxdepth 1 -name "${PKG}_*.deb" 2>/dev/null | sort | tail -1)
fi
PORT=${TEST_NGINX_SERVER_PORT:-1984}
NGINX=/usr/sbin/nginx
ENABLED=/etc/nginx/modules-enabled
LINK=$ENABLED/50-mod-http-tasker-auth.conf
AVAILABLE=/usr/share/nginx/modules-available/mod-http-tasker-auth.conf
SO=/usr/lib/nginx/modules/ngx_http_tasker_auth_module.so

die() { echo "t/package/run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (dpkg -i)"
command -v dpkg >/dev/null || die "needs dpkg"
command -v curl >/dev/null || die "needs curl"
[ -x "$NGINX" ] || die "needs Debian's nginx ($NGINX)"
if [ -z "$DEB" ] || [ ! -f "$DEB" ]; then die "no package: run make deb, or pass the .deb"; fi

status() { dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null || echo not-installed; }
case $(status) in
    not-installed) ;;
    config-files) dpkg --purge "$PKG" >/dev/null || die "could not purge the left-over $PKG" ;;
    *) die "$PKG is installed on this machine; remove it first (the test removes it at the end)" ;;
esac

TMP=$(mktemp -d /tmp/tasker-package-test.XXXXXX)
NGINX_PID=
INSTALLED=0
cleanup() {
    if [ -n "$NGINX_PID" ]; then
        kill -QUIT "$NGINX_PID" 2>/dev/null
        wait "$NGINX_PID" 2>/dev/null
    fi
    if [ "$INSTALLED" = 1 ] && [ "$(status)" != not-installed ]; then
        dpkg --purge "$PKG" >/dev/null 2>&1 || echo "t/package/run.sh: could not purge $PKG" >&2
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASSED=0
FAILED=0
check() {   # check DESCRIPTION COMMAND...: one test
    local what=$1; shift
    if "$@" >"$TMP/.out" 2>&1; then
        PASSED=$((PASSED + 1)); echo "ok - $what"
    else
        FAILED=$((FAILED + 1)); echo "not ok - $what"
        sed 's/^/#   /' "$TMP/.out" | head -20
    fi
}
http_is() {   # http_is STATUS BODY_REGEX PATH [curl args]: status and body of one request
    local want=$1 body=$2 path=$3; shift 3
    local got
    got=$(curl -sS -o "$TMP/.body" -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$path") || return 1
    echo "status $got, body: $(cat "$TMP/.body")"
    [ "$got" = "$want" ] && grep -Eq "$body" "$TMP/.body"
}
same_file() { [ "$(readlink -f "$1")" = "$(readlink -f "$2")" ]; }
no_enabled_link() {   # nothing in modules-enabled/*.conf points at our module
    local f found=0
    for f in "$ENABLED"/*.conf; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        case "$(basename "$f") $(readlink -f "$f")" in
            *tasker*) echo "still enabled: $f"; found=1 ;;
        esac
    done
    [ "$found" = 0 ]
}

echo "== package test: $DEB"

# ---- 1. install ---------------------------------------------------------------------------------
check "dpkg -i installs the package" dpkg -i "$DEB"
INSTALLED=1
check "package state is installed" test "$(status)" = installed
check "the module is in /usr/lib/nginx/modules" test -f "$SO"
check "modules-available has the load_module line" \
    grep -qx 'load_module modules/ngx_http_tasker_auth_module.so;' "$AVAILABLE"
check "postinst enabled it: $LINK -> modules-available" \
    sh -c "test -L '$LINK' && test \"\$(readlink '$LINK')\" = '$AVAILABLE'"
check "tasker-ctl is in /usr/bin" test -x /usr/bin/tasker-ctl
check "tasker-ctl --help" /usr/bin/tasker-ctl --help
for c in "auth generate-keys" "auth generate-token" "auth show-permissions" "auth validate-token" \
         "auth hash-api-key" "auth jwks" "task list"; do
    # shellcheck disable=SC2086
    check "tasker-ctl $c --help" /usr/bin/tasker-ctl $c --help
done
check "man page tasker-ctl(1)" test -f /usr/share/man/man1/tasker-ctl.1.gz
check "the package depends on the nginx ABI that nginx provides" sh -c "
    abi=\$(dpkg-deb -f '$DEB' Depends | grep -o 'nginx-abi-[^ ,]*');
    echo \"package: \$abi, nginx provides: \$(dpkg-query -W -f='\${Provides}' nginx)\";
    dpkg-query -W -f='\${Provides}' nginx | grep -qw -- \"\$abi\""

# ---- 2. nginx -t with the system configuration ------------------------------------------------
check "nginx -t (/etc/nginx/nginx.conf, module enabled)" "$NGINX" -t -q

# ---- 3. a private server -----------------------------------------------------------------------
# The load_module lines say modules/...: relative to the prefix, which on Debian is /usr/share/nginx
# with modules -> /usr/lib/nginx/modules. The private prefix gets the same link.
mkdir -p "$TMP/logs" "$TMP/tmp"
ln -s /usr/lib/nginx/modules "$TMP/modules"
/usr/bin/tasker-ctl auth generate-keys --output-dir "$TMP/keys" >/dev/null 2>&1
/usr/bin/tasker-ctl auth generate-token --private-key "$TMP/keys/jwt-private-key.pem" \
    --permissions tasks:list --subject pkg-test >"$TMP/token-list" 2>/dev/null
/usr/bin/tasker-ctl auth generate-token --private-key "$TMP/keys/jwt-private-key.pem" \
    --permissions tasks:read >"$TMP/token-read" 2>/dev/null
cat >"$TMP/nginx.conf" <<EOF
include $ENABLED/*.conf;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log info;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $TMP/tmp/body;
    proxy_temp_path $TMP/tmp/proxy;
    fastcgi_temp_path $TMP/tmp/fastcgi;
    uwsgi_temp_path $TMP/tmp/uwsgi;
    scgi_temp_path $TMP/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT;
        tasker_auth on;
        tasker_jwt_public_key_path $TMP/keys/jwt-public-key.pem;
        proxy_set_header X-Subject \$tasker_auth_subject;
        location /v1/tasks {
            tasker_permission GET tasks:list;
            proxy_pass http://127.0.0.1:$PORT/_backend;
        }
        location /_backend {
            tasker_auth off;
            return 200 "backend subject=\$http_x_subject\n";
        }
    }
}
EOF
check "nginx -t of the private configuration" "$NGINX" -t -p "$TMP/" -c "$TMP/nginx.conf" -e "$TMP/logs/error.log"
"$NGINX" -p "$TMP/" -c "$TMP/nginx.conf" -e "$TMP/logs/error.log" -g 'daemon off;' \
    >"$TMP/logs/stderr.log" 2>&1 &
NGINX_PID=$!
up=0
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && { up=1; break; }
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
done
check "the packaged nginx with the module listens on 127.0.0.1:$PORT" \
    sh -c "test $up = 1 || { cat '$TMP/logs/stderr.log' '$TMP/logs/error.log'; false; }"
check "no credentials: 401" http_is 401 '"Missing authentication credentials"' /v1/tasks
check "401 carries WWW-Authenticate: Bearer" sh -c \
    "curl -sSI 'http://127.0.0.1:$PORT/v1/tasks' | grep -qi '^WWW-Authenticate: Bearer realm=\"tasker\"'"
check "token without tasks:list: 403" http_is 403 '"Missing required permission: tasks:list"' /v1/tasks \
    -H "Authorization: Bearer $(cat "$TMP/token-read")"
check "token with tasks:list: 200 with the subject passed upstream" \
    http_is 200 '^backend subject=pkg-test$' /v1/tasks -H "Authorization: Bearer $(cat "$TMP/token-list")"
kill -QUIT "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID" 2>/dev/null
NGINX_PID=
check "the private nginx stopped" sh -c "! curl -s -o /dev/null 'http://127.0.0.1:$PORT/'"

# ---- 4. remove ----------------------------------------------------------------------------------
check "dpkg -r removes the package" dpkg -r "$PKG"
check "package state is not installed" sh -c "s=\$(dpkg-query -W -f='\${db:Status-Status}' $PKG 2>/dev/null); echo \$s; [ \"\$s\" != installed ]"
check "nothing left enabled in $ENABLED/*.conf" no_enabled_link
check "the module file is gone" test ! -e "$SO"
check "tasker-ctl is gone" test ! -e /usr/bin/tasker-ctl
check "nginx -t still passes after removal" "$NGINX" -t -q

# ---- 5. purge -----------------------------------------------------------------------------------
check "dpkg --purge" dpkg --purge "$PKG"
check "not known to dpkg any more" test "$(status)" = not-installed
check "no 50-mod-http-tasker-auth.conf* left in $ENABLED" \
    sh -c "! ls -d '$LINK'* 2>/dev/null"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
