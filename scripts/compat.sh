#!/usr/bin/env bash
# The nginx compatibility matrix (run by `make compat`).
#
#   scripts/compat.sh [TARBALL ...]
#
# For each nginx source tarball (default: $NGINX_TARBALLS, else ../shared/nginx/*.tar.gz), in
# build/compat/<version>/:
#   1. builds the module against that tree the way a user does, with the project Makefile:
#      `make NGINX_SRC=<tree>` (configured there with --with-compat);
#   2. builds that nginx with --with-compat, --with-debug and the stock modules the tests and
#      conf-examples use (the http modules of Debian's nginx-core: ssl, v2, dav, sub, realip,
#      stub_status, auth_request, ...). The two are configured differently on purpose:
#      --with-compat on both sides is what makes the module load;
#   3. runs the t/*.t suite and the CLI, gRPC and system suites against that nginx binary.
# It ends with one line per version and its test counts, and exits non-zero when a build or a test
# failed. Logs stay in build/compat/<version>/*.log.
#
# Accepted trees: nginx.org release tarballs (./configure) and `git archive` trees of nginx's
# repository (auto/configure), with one top-level folder.
#
# Environment:
#   NGINX_TARBALLS          space-separated tarballs (or globs) when no argument is given
#   COMPAT_DIR              work folder (default build/compat); each version's folder is rebuilt
#   COMPAT_JOBS             make -j for the builds (default 2)
#   COMPAT_PARALLEL         how many versions' test runs at once (default 1). Each uses its own
#                           port, servroot and key folder, so 2 is safe; on 2 cores it mostly
#                           overlaps the suites' waits.
#   TEST_NGINX_SERVER_PORT  first port for t/*.t (default 1984); the i-th version uses port + i
#   PROVE_ARGS              extra arguments for prove (e.g. -v, or a single file)
#   TEST_NGINX_PYTHON       Python for the suites (default /usr/bin/python3)
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2

COMPAT_DIR=${COMPAT_DIR:-build/compat}
case $COMPAT_DIR in /*) ;; *) COMPAT_DIR=$REPO/$COMPAT_DIR ;; esac
JOBS=${COMPAT_JOBS:-2}
PARALLEL=${COMPAT_PARALLEL:-1}
BASE_PORT=${TEST_NGINX_SERVER_PORT:-1984}
PYTHON=${TEST_NGINX_PYTHON:-/usr/bin/python3}
CLI=$REPO/build/tasker-ctl
SUITES=(cli grpc system)

# The nginx under test: the http modules of Debian's nginx-core (nginx -V), without the dynamic
# ones (geoip, image_filter, perl, xslt, mail, stream), so the same stock directives exist as
# under Debian's nginx. No paths: the tests always pass -p and -c.
NGINX_FLAGS=(--with-compat --with-debug --with-threads --with-pcre-jit
    --with-http_ssl_module --with-http_v2_module --with-http_stub_status_module
    --with-http_realip_module --with-http_auth_request_module --with-http_dav_module
    --with-http_slice_module --with-http_addition_module --with-http_flv_module
    --with-http_gunzip_module --with-http_gzip_static_module --with-http_mp4_module
    --with-http_random_index_module --with-http_secure_link_module --with-http_sub_module)

log() { printf '%s compat: %s\n' "$(date +%H:%M:%S)" "$*"; }

# ---- which tarballs -----------------------------------------------------------------------------
tarballs=()
if [ $# -gt 0 ]; then
    tarballs=("$@")
else
    # shellcheck disable=SC2206  # word splitting and globbing are wanted here
    specs=(${NGINX_TARBALLS:-../shared/nginx/*.tar.gz})
    for t in "${specs[@]}"; do [ -e "$t" ] && tarballs+=("$t"); done
fi
if [ ${#tarballs[@]} -eq 0 ]; then
    echo "compat: no nginx tarballs (looked for ${NGINX_TARBALLS:-../shared/nginx/*.tar.gz})" >&2
    exit 2
fi

version_of() {   # nginx-1.30.4.tar.gz -> 1.30.4 (else the name without .tar.gz / .tgz)
    local b
    b=$(basename "$1"); b=${b%.tar.gz}; b=${b%.tgz}; echo "${b#nginx-}"
}

declare -A VERSION DIR STATUS BUILD_SECS
versions=()
for t in "${tarballs[@]}"; do
    v=$(version_of "$t")
    case $t in /*) ;; *) t=$REPO/$t ;; esac
    VERSION[$v]=$t
    DIR[$v]=$COMPAT_DIR/$v
    versions+=("$v")
done

# ---- builds -------------------------------------------------------------------------------------
# Core archive and tasker-ctl once: they do not depend on nginx.
mkdir -p "$COMPAT_DIR" || exit 1
log "building build/libtaskerauth.a and build/tasker-ctl"
if ! make --no-print-directory -j"$JOBS" cli >"$COMPAT_DIR/cli-build.log" 2>&1; then
    tail -20 "$COMPAT_DIR/cli-build.log"
    echo "compat: building tasker-ctl failed" >&2
    exit 1
fi

build_version() {   # build_version VERSION -> 0 when nginx and the module were built
    local v=$1 d=${DIR[$1]} tarball=${VERSION[$1]} cfg start
    start=$SECONDS
    rm -rf "$d" && mkdir -p "$d/src" || return 1
    tar -xzf "$tarball" -C "$d/src" --strip-components=1 2>"$d/build.log" || return 1

    # 1. the module, as a user would build it (the Makefile copies the pristine tree first)
    log "$v: module (make NGINX_SRC=$d/src)"
    make --no-print-directory -j"$JOBS" NGINX_SRC="$d/src" NGX_BUILD="$d/module-build" \
        MODULE_SO="$d/ngx_http_tasker_auth_module.so" module >>"$d/build.log" 2>&1 || return 1

    # 2. nginx itself, in the tree
    log "$v: nginx ${NGINX_FLAGS[0]} ..."
    cfg=./configure; [ -x "$d/src/$cfg" ] || cfg=./auto/configure
    (cd "$d/src" && $cfg --prefix="$d/prefix" "${NGINX_FLAGS[@]}" >>"$d/build.log" 2>&1 \
        && make -j"$JOBS" >>"$d/build.log" 2>&1) || return 1
    [ -x "$d/src/objs/nginx" ] || return 1
    mkdir -p "$d/prefix/logs"
    BUILD_SECS[$v]=$((SECONDS - start))
    "$d/src/objs/nginx" -V >>"$d/build.log" 2>&1
    return 0
}

for v in "${versions[@]}"; do
    if build_version "$v"; then
        STATUS[$v]=built
        log "$v: built in ${BUILD_SECS[$v]} s"
    else
        STATUS[$v]="BUILD FAILED"
        log "$v: build failed, last lines of ${DIR[$v]}/build.log:"
        tail -15 "${DIR[$v]}/build.log" | sed 's/^/    /'
    fi
done

# ---- tests --------------------------------------------------------------------------------------
# test_version VERSION INDEX: runs every suite; writes DIR/<suite>.log and DIR/result.
test_version() {
    local v=$1 d=${DIR[$1]} port=$((BASE_PORT + $2)) start rc s
    start=$SECONDS
    export TEST_NGINX_BINARY=$d/src/objs/nginx \
           TEST_NGINX_MODULE=$d/ngx_http_tasker_auth_module.so \
           TEST_NGINX_CLI=$CLI \
           TEST_NGINX_PYTHON=$PYTHON \
           TEST_NGINX_REPO=$REPO \
           TEST_NGINX_SERVER_PORT=$port \
           TEST_NGINX_SERVROOT=$d/servroot \
           TEST_NGINX_KEYS=$d/keys
    rc=0
    if [ -n "${PROVE_ARGS:-}" ]; then
        # shellcheck disable=SC2086  # PROVE_ARGS is a list of arguments
        prove -It/lib $PROVE_ARGS >"$d/t.log" 2>&1 || rc=1
    else
        # One prove per file: a file that bails out (BAIL_OUT stops a whole prove run) costs only
        # its own tests, and every other file still runs and counts.
        : >"$d/t.log"
        while IFS= read -r f; do
            prove -It/lib "$f" >>"$d/t.log" 2>&1 || rc=1
        done < <(find t -name '*.t' -not -path 't/servroot*' | sort)
    fi
    for s in "${SUITES[@]}"; do
        "t/$s/run.sh" >"$d/$s.log" 2>&1 </dev/null || rc=1
    done
    echo "$rc $((SECONDS - start))" >"$d/result"
}

# prove_counts LOG -> "passed total failed_files" from prove's summaries (one or several runs)
prove_counts() {
    perl -ne '
        $total += $1 if /^Files=\d+, Tests=(\d+),/;
        $failed += $1 if /Failed (\d+)\/\d+ subtests/;
        $bad{$1} = 1 if /^(t\/\S+\.t)\s+\(Wstat:/ || /^(t\/\S+\.t)\s+\(Tests:/;
        END {
            $total //= 0; $failed //= 0;
            printf "%d %d %s\n", $total - $failed, $total, join(",", sort keys %bad);
        }' "$1"
}

suite_counts() {   # suite_counts LOG -> "passed total", summed over its "N passed, M failed" lines
    # (a suite may run several scripts, each ending with such a line); none at all counts as a failure
    awk '/^[0-9]+ passed, [0-9]+ failed$/ { p += $1; t += $1 + $3; n++ }
         END { if (n) print p, t; else print 0, 1 }' "$1" 2>/dev/null || echo "0 1"
}

i=0
running=0
for v in "${versions[@]}"; do
    i=$((i + 1))
    [ "${STATUS[$v]}" = built ] || continue
    log "$v: testing (port $((BASE_PORT + i)), logs in ${DIR[$v]}/)"
    test_version "$v" "$i" &
    running=$((running + 1))
    if [ "$running" -ge "$PARALLEL" ]; then wait -n; running=$((running - 1)); fi
done
wait

# ---- summary ------------------------------------------------------------------------------------
echo
echo "nginx compatibility matrix (module built with make NGINX_SRC=..., nginx with --with-compat)"
overall=0
for v in "${versions[@]}"; do
    d=${DIR[$v]}
    if [ "${STATUS[$v]}" != built ]; then
        printf 'nginx %-8s BUILD FAILED (see %s/build.log)\n' "$v" "$d"
        overall=1
        continue
    fi
    read -r rc secs <"$d/result" 2>/dev/null || { rc=1; secs=0; }
    read -r tp tt bad <<<"$(prove_counts "$d/t.log")"
    line=$(printf 't/*.t %d/%d' "$tp" "$tt")
    for s in "${SUITES[@]}"; do
        read -r sp st <<<"$(suite_counts "$d/$s.log")"
        line+=$(printf ', %s %d/%d' "$s" "$sp" "$st")
    done
    verdict=PASS
    [ "$rc" = 0 ] || { verdict=FAIL; overall=1; }
    printf 'nginx %-8s %s  %s  (build %ss, tests %ss)%s\n' "$v" "$verdict" "$line" \
        "${BUILD_SECS[$v]}" "$secs" "${bad:+  failing: $bad}"
done
exit $overall
