#!/usr/bin/env bash
# make deb: builds build/deb/libnginx-mod-http-tasker-auth_<version>_<arch>.deb with Debian's own
# tools and checks it with lintian.
#
# The packaging is debian/ (debhelper 13 and dh_nginx from nginx-dev, like Debian's libnginx-mod-*
# packages). The module is built against Debian's nginx-dev tree with the flags of /usr/sbin/nginx,
# and the package depends on the nginx ABI that tree declares (nginx-abi-1.22.1-7 on Debian 12).
# The build runs in a copy of the sources, build/deb/src/, so the checkout stays clean and the
# results land in build/deb/ (not in the checkout's parent folder, where dpkg-buildpackage puts them).
#
# Environment: DEB_JOBS (parallel build jobs, default 2), LINTIAN=0 skips lintian.
# Exit status: 0 when the package was built and lintian found no error.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
OUT=$REPO/build/deb
PKG=libnginx-mod-http-tasker-auth

# ---- tools: dpkg-dev, debhelper, nginx-dev (dh_nginx), lintian ----------------------------------
need=()
command -v dpkg-buildpackage >/dev/null || need+=(dpkg-dev)
command -v dh >/dev/null || need+=(debhelper)
command -v dh_nginx >/dev/null || need+=(nginx-dev)
[ "${LINTIAN:-1}" = 0 ] || command -v lintian >/dev/null || need+=(lintian)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "make deb: missing ${need[*]} (as root: apt-get install ${need[*]})" >&2
        exit 1
    fi
    # as make deps does: the package lists may be missing (a fresh container) or stale
    echo "make deb: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || { echo "make deb: apt-get install ${need[*]} failed" >&2; exit 1; }
fi

# ---- versions -----------------------------------------------------------------------------------
# a native package (debian/source/format): its version is the project's, with no Debian revision
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
cli_version=$(sed -n 's/.*kVersion = "\(.*\)";.*/\1/p' src/cli/tasker_ctl.cpp)
if [ "$version" != "$cli_version" ]; then
    echo "make deb: debian/changelog says $version but tasker-ctl says $cli_version;" \
         "add a changelog entry (dch -v $cli_version)" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)
deb=$OUT/${PKG}_${version}_${arch}.deb

# ---- build in a copy of the sources -------------------------------------------------------------
rm -rf "$OUT" && mkdir -p "$OUT/src"
stage=$OUT/src/$PKG-$version
mkdir -p "$stage"
paths=(Makefile config ngx_http_tasker_auth_module.cpp src debian conf-examples README.md)
if git rev-parse --git-dir >/dev/null 2>&1; then
    # tracked and new files, never ignored ones (build/, generated keys)
    git ls-files -z -co --exclude-standard -- "${paths[@]}" | tar -c --null -T - | tar -x -C "$stage"
else
    cp -r "${paths[@]}" "$stage/"
    rm -rf "$stage/conf-examples/keys"
fi

echo "make deb: dpkg-buildpackage in build/deb/src/$PKG-$version (log: build/deb/build.log)"
if ! (cd "$stage" && dpkg-buildpackage -b -us -uc -j"${DEB_JOBS:-2}") >"$OUT/build.log" 2>&1; then
    tail -30 "$OUT/build.log"
    echo "make deb: dpkg-buildpackage failed (build/deb/build.log)" >&2
    exit 1
fi
# dpkg-buildpackage writes next to the source folder
mv "$OUT/src"/*.deb "$OUT/src"/*.changes "$OUT/src"/*.buildinfo "$OUT/" 2>/dev/null || true
[ -f "$deb" ] || { echo "make deb: $deb was not produced" >&2; exit 1; }

dpkg-deb --field "$deb" Package Version Architecture Depends
dpkg-deb --contents "$deb" | awk '{print "  " $6 ($7 ? " " $7 " " $8 : "")}' | grep -v '/$'

if [ "${LINTIAN:-1}" != 0 ]; then
    echo "make deb: lintian"
    # errors fail the build; warnings and notes are shown
    lintian --fail-on error --display-info "$deb"
fi
echo "make deb: built $deb"
