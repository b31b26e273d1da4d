# ngx_http_tasker_auth_module — build, test and demo.
#   make            module (build/ngx_http_tasker_auth_module.so) and build/tasker-ctl
#   make test       unit tests (cmocka), integration tests (t/*.t), gRPC and CLI tests
#   make asan       unit tests, then nginx + module + whole t/ suite, under ASan + UBSan
#   make bench      micro-benchmarks, then nginx + wrk end to end (build/bench/report.md, chart)
#   make demo       nginx on localhost with conf-examples/, keys and tokens; shows 401/403/200
#   make deps       installs the Debian packages the project needs (idempotent)
#   NGINX_SRC=/path builds against an upstream nginx tree instead of Debian's nginx-dev.

SHELL      := /bin/bash
BUILD      := build
CXX        ?= g++
CXXSTD     := -std=c++17
WARN       := -Wall -Wextra -Wno-unused-parameter
OPT        ?= -O2 -g
# -fvisibility=hidden: the core is linked into the module (and the CLI, tests) and exports
# nothing; without it, -fPIC makes every core function interposable, so calls between them go
# through the PLT and small ones are never inlined.
CXXFLAGS_CORE := $(CXXSTD) $(OPT) -fPIC -fvisibility=hidden $(WARN) -Isrc $(EXTRA_CXXFLAGS)
CORE_LIBS  := -lssl -lcrypto -ljansson -lcurl
NGINX_SRC  ?= /usr/share/nginx/src
# nginx compiles modules with its own default, -O (gcc's -O1); the adapter's access handler runs on
# every request, and at -O2 its own time drops by about a quarter (perf, API key requests).
NGX_CC_OPT ?= -O2
NGINX_BIN  ?= /usr/sbin/nginx
PYTHON     := /usr/bin/python3

DEB_PACKAGES := g++ make perl curl openssl ca-certificates nginx-core nginx-dev libpcre2-dev libpcre3-dev \
                zlib1g-dev libssl-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev \
                libtomlplusplus-dev python3 python3-jwt python3-cryptography python3-grpcio

CORE_SRCS  := $(filter-out src/ngx_%,$(wildcard src/*.cpp))
CORE_OBJS  := $(CORE_SRCS:src/%.cpp=$(BUILD)/core/%.o)
CORE_LIB   := $(BUILD)/libtaskerauth.a
CLI_SRCS   := $(wildcard src/cli/*.cpp)
UNIT_SRCS  := $(wildcard t/unit/test_*.cpp)
UNIT_BINS  := $(UNIT_SRCS:t/unit/%.cpp=$(BUILD)/unit/%)
MODULE_SO  := $(BUILD)/ngx_http_tasker_auth_module.so
CLI        := $(BUILD)/tasker-ctl
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps module cli unit test integration asan asan-build bench bench-micro bench-deps demo clean

all: module cli

# ---- dependencies -----------------------------------------------------------------------------
# Installs only when a package is missing, so it is cheap to call from every target.
# $(call APT_INSTALL,WHO,PACKAGES): apt-get update, then install, the PACKAGES not installed yet.
APT_INSTALL = missing=$$(for p in $(2); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "$(1): installing:" $$missing; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "$(1): apt-get install $$missing failed (run as root?)" >&2; exit 1; }; \
	fi
deps:
	@$(call APT_INSTALL,make deps,$(DEB_PACKAGES)); mkdir -p $(BUILD); touch $(DEPS_STAMP)

$(DEPS_STAMP):
	@$(MAKE) --no-print-directory deps

# A stamp file holds the settings a step ran with. It is rewritten (FORCE) only when they change,
# so what depends on it is redone exactly then. The text comes through the environment
# (STAMP_TEXT, set for the stamp's target), so quotes in the settings need no escaping.
WRITE_STAMP = [ "$$(cat $@ 2>/dev/null)" = "$$STAMP_TEXT" ] \
    || { mkdir -p $(@D) && printf '%s\n' "$$STAMP_TEXT" > $@; }
.PHONY: FORCE
FORCE:

# ---- core archive -----------------------------------------------------------------------------
# The compiler and flags are a stamp too: another OPT, EXTRA_CXXFLAGS or CXX rebuilds the core, and
# so everything linked with it (module, tasker-ctl, tests), instead of mixing objects of both.
CORE_FLAGS_STAMP := $(BUILD)/core.flags
$(CORE_FLAGS_STAMP): private export STAMP_TEXT = $(CXX) $(CXXFLAGS_CORE)
$(CORE_FLAGS_STAMP): FORCE
	@$(WRITE_STAMP)

$(BUILD)/core/%.o: src/%.cpp $(wildcard src/*.h) $(CORE_FLAGS_STAMP) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_CORE) -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

# ---- tasker-ctl ---------------------------------------------------------------------------------
cli: $(CLI)
$(CLI): $(CLI_SRCS) $(CORE_LIB) $(wildcard src/*.h src/cli/*.h)
	$(CXX) $(CXXFLAGS_CORE) $(CLI_SRCS) $(CORE_LIB) $(CORE_LIBS) $(EXTRA_LDFLAGS) -o $@

# ---- nginx module -------------------------------------------------------------------------------
# Configured once per nginx tree with that tree's flags (Debian: conf_flags, for binary
# compatibility with /usr/sbin/nginx via --with-compat); `make modules` builds only our .so.
NGX_BUILD := $(BUILD)/nginx
module: $(MODULE_SO)
# Everything the configured copy was made from is recorded beside it, in $(NGX_BUILD).stamp:
# this checkout and its core archive (the copy holds their absolute paths, so a copied checkout
# would build the original's sources), the tree resolved (a repointed symlink is another tree), the
# tree's nginx version, a checksum of its conf_flags, and NGX_CONF_EXTRA, NGX_CC_OPT and
# NGX_LD_OPT. Any change rewrites the stamp, and so configures afresh instead of silently reusing
# the previous copy. (Beside NGX_BUILD rather than in BUILD: make compat builds several trees at
# once, each with its own NGX_BUILD.)
NGX_SRC_STAMP := $(NGX_BUILD).stamp
NGX_VERSION_H  = $(NGINX_SRC)/src/core/nginx.h
NGX_TREE_KEY   = tree=$(or $(realpath $(NGINX_SRC)),$(abspath $(NGINX_SRC))) \
    version=$(shell sed -n 's/.*NGINX_VERSION *"\([^"]*\)".*/\1/p' $(NGX_VERSION_H) 2>/dev/null) \
    conf_flags=$(shell [ ! -f $(NGINX_SRC)/conf_flags ] || cksum < $(NGINX_SRC)/conf_flags)
$(NGX_SRC_STAMP): private export STAMP_TEXT = checkout=$(CURDIR) core=$(CURDIR)/$(CORE_LIB) \
    $(NGX_TREE_KEY) extra=$(NGX_CONF_EXTRA) cc-opt=$(NGX_CC_OPT) ld-opt=$(NGX_LD_OPT)
$(NGX_SRC_STAMP): FORCE | $(DEPS_STAMP)
	@$(WRITE_STAMP)

$(NGX_BUILD)/.configured: config $(NGX_SRC_STAMP) | $(DEPS_STAMP)
	@rm -rf $(NGX_BUILD) && mkdir -p $(NGX_BUILD)
	cp -r $(NGINX_SRC)/. $(NGX_BUILD)/
	cd $(NGX_BUILD) && if [ -f conf_flags ]; then source ./conf_flags; \
	    else NGX_CONF_FLAGS=(--with-compat --with-http_ssl_module --with-http_v2_module --with-threads); fi; \
	    cfg=./configure; [ -x $$cfg ] || cfg=./auto/configure; \
	    extra=($(NGX_CONF_EXTRA)); [ -z "$(NGX_CC_OPT)" ] || extra+=(--with-cc-opt="$(NGX_CC_OPT)"); \
	    [ -z "$(NGX_LD_OPT)" ] || extra+=(--with-ld-opt="$(NGX_LD_OPT)"); \
	    TASKER_CORE_LIB=$(CURDIR)/$(CORE_LIB) $$cfg "$${NGX_CONF_FLAGS[@]}" "$${extra[@]}" \
	        --add-dynamic-module=$(CURDIR) > configure.log 2>&1 \
	    || { tail -20 configure.log; exit 1; }
	@touch $@

ADAPTER_SRCS := ngx_http_tasker_auth_module.cpp $(wildcard src/ngx_*.cpp)
$(MODULE_SO): $(ADAPTER_SRCS) $(CORE_LIB) $(NGX_BUILD)/.configured $(wildcard src/*.h)
	@rm -f $(NGX_BUILD)/objs/ngx_http_tasker_auth_module.so
	@find $(NGX_BUILD)/objs/addon -name '*.o' -delete 2>/dev/null || true
	$(MAKE) --no-print-directory -C $(NGX_BUILD) -f objs/Makefile modules
	@# a new file renamed into place: cp over the old one rewrote the inode that a running nginx
	@# (make demo, a test left running) has mapped, and its workers crashed on SIGSEGV in a loop
	cp $(NGX_BUILD)/objs/ngx_http_tasker_auth_module.so $@.tmp && mv -f $@.tmp $@

# ---- tests ------------------------------------------------------------------------------------
$(BUILD)/unit/%: t/unit/%.cpp $(CORE_LIB) $(wildcard t/unit/*.h)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_CORE) -It/unit $< $(CORE_LIB) $(CORE_LIBS) -lcmocka -o $@

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

TEST_ENV = TEST_NGINX_BINARY=$(NGINX_BIN) \
           TEST_NGINX_MODULE=$(CURDIR)/$(MODULE_SO) \
           TEST_NGINX_CLI=$(CURDIR)/$(CLI) \
           TEST_NGINX_PYTHON=$(PYTHON) \
           TEST_NGINX_REPO=$(CURDIR)

integration: $(MODULE_SO) $(CLI)
	$(TEST_ENV) prove -It/lib -r t/ $(PROVE_ARGS)

SUITES := t/cli/run.sh t/grpc/run.sh t/system/run.sh t/docs/quickstart.py t/docs/examples.py t/docs/secrets.py

test: all unit fuzz-replay integration
	@for s in $(SUITES); do echo "== $$s"; $(TEST_ENV) $$s || exit 1; done

# ---- compatibility matrix ----------------------------------------------------------------------
# make compat: for each nginx tarball, build that nginx (--with-compat), build the module against it
# (make NGINX_SRC=...) and run t/*.t and the CLI, gRPC and system suites with it; one result line per
# version. scripts/compat.sh documents the knobs (COMPAT_PARALLEL, COMPAT_JOBS, PROVE_ARGS, ...).
NGINX_TARBALLS ?= ../shared/nginx/*.tar.gz
.PHONY: compat
compat: | $(DEPS_STAMP)
	@NGINX_TARBALLS='$(NGINX_TARBALLS)' scripts/compat.sh

# ---- Debian package --------------------------------------------------------------------------
# make deb: build/deb/libnginx-mod-http-tasker-auth_<version>_<arch>.deb from debian/ (debhelper and
# dh_nginx, built against nginx-dev like Debian's libnginx-mod-* packages), checked by lintian
# (errors fail). make test-package (root): t/package/run.sh installs it with dpkg -i, checks nginx -t
# and a 401/403/200 from Debian's nginx with it, then removes and purges it. Not part of make test,
# since it changes the machine's installed packages; .ci/run runs it.
.PHONY: deb test-package
deb: | $(DEPS_STAMP)
	@scripts/deb.sh

test-package: deb
	@t/package/run.sh

# ---- benchmarks (not tests: numbers for the README's Performance section) -----------------------
# make bench: the core micro-benchmarks, then bench/e2e.sh: nginx and wrk pinned to separate cores,
# every workload of issue 11 side by side, the cache hits and the API key again as back-to-back
# pairs with their baselines, `openssl speed` in the same run; writes build/bench/report.md and
# build/bench/chart.png. Not run by CI. Variables (see bench/e2e.sh):
BENCH_SECONDS      ?= 5
BENCH_ROUNDS       ?= 7
BENCH_PAIR_ROUNDS  ?= 20
BENCH_PAIR_SECONDS ?= 2
BENCH_TOKENS       ?= 10000
BENCH_RSS_REQUESTS ?= 5000000
BENCH_PORT         ?= 2400
BENCH_PACKAGES     := wrk gnuplot-nox linux-perf
BENCH_SRCS := $(wildcard bench/bench_*.cpp)
BENCH_BINS := $(BENCH_SRCS:bench/%.cpp=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.cpp $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_CORE) $< $(CORE_LIB) $(CORE_LIBS) -o $@

bench-deps:
	@$(call APT_INSTALL,make bench,$(BENCH_PACKAGES))

bench-micro: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b; done

bench: all bench-deps bench-micro $(BUILD)/bench/mint_tokens
	BENCH_SECONDS=$(BENCH_SECONDS) BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_TOKENS=$(BENCH_TOKENS) \
	BENCH_PAIR_ROUNDS=$(BENCH_PAIR_ROUNDS) BENCH_PAIR_SECONDS=$(BENCH_PAIR_SECONDS) \
	BENCH_RSS_REQUESTS=$(BENCH_RSS_REQUESTS) BENCH_PORT=$(BENCH_PORT) NGINX_BIN=$(NGINX_BIN) \
	    bench/e2e.sh

# ---- sanitizers ---------------------------------------------------------------------------------
# make asan: the unit tests, then an nginx binary built from the same tree as the module (Debian's
# flags) and the module, both with ASan+UBSan, running the whole t/ suite and the CLI, gRPC and
# system suites. Everything lives under build/asan/. Every report's summary lands in
# build/asan/logs/ (t/asan/report_hook.c; mode 1777, the workers run as nobody), and the target
# fails on any test failure or any report. README, "Sanitizers", explains the options and the
# suppression files t/asan/*.supp.
ASAN_BUILD  := build/asan
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# nginx and the adapter: UBSan checks stay recoverable so that t/asan/ubsan.supp can name the
# few known reports in nginx's own code; halt_on_error=1 still stops at any other report
NGX_SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_LOGS   := $(CURDIR)/$(ASAN_BUILD)/logs
ASAN_NGINX  := $(ASAN_BUILD)/nginx/objs/nginx
# the standard modules of Debian's nginx -V that the tests may use beyond conf_flags
ASAN_NGX_MODULES := --with-http_addition_module --with-http_gunzip_module \
           --with-http_gzip_static_module --with-http_secure_link_module --with-http_sub_module
ASAN_ENV     = ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:detect_odr_violation=0:log_path=$(ASAN_LOGS)/asan:log_exe_name=1 \
               LSAN_OPTIONS=suppressions=$(CURDIR)/t/asan/lsan.supp:print_suppressions=0 \
               UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1:suppressions=$(CURDIR)/t/asan/ubsan.supp \
               TASKER_SANITIZER_REPORTS=$(ASAN_LOGS)
ASAN_TEST_ENV = $(ASAN_ENV) \
           TEST_NGINX_BINARY=$(CURDIR)/$(ASAN_NGINX) \
           TEST_NGINX_MODULE=$(CURDIR)/$(ASAN_BUILD)/ngx_http_tasker_auth_module.so \
           TEST_NGINX_CLI=$(CURDIR)/$(ASAN_BUILD)/tasker-ctl \
           TEST_NGINX_PYTHON=$(PYTHON) \
           TEST_NGINX_REPO=$(CURDIR) \
           TEST_NGINX_TIMEOUT=$${TEST_NGINX_TIMEOUT:-10}

# the nginx binary of the configured tree (only the asan build asks for it)
$(NGX_BUILD)/objs/nginx: $(NGX_BUILD)/.configured $(MODULE_SO) $(NGX_LINK_OBJS)
	$(MAKE) --no-print-directory -C $(NGX_BUILD) -f objs/Makefile binary \
	    $(if $(NGX_LINK_OBJS),LINK="cc $(NGX_LINK_OBJS)")

# A binary needs nginx's .c files. Debian's nginx-dev tree has only the headers and the build
# scripts, so for it the asan build takes the upstream source of the installed version (the
# package's orig tarball, `apt-get source --tar-only` with a private deb-src list: /etc/apt is
# not touched) plus nginx-dev's conf_flags. An NGINX_SRC with sources is used as it is. The tree
# is recorded as the main build's is (NGX_TREE_KEY, in $(ASAN_BUILD)/nginx-src.stamp): another
# tree fetches or copies afresh, and drops the nginx configured from the previous sources.
ASAN_SRC_STAMP := $(ASAN_BUILD)/nginx-src/.ok
ASAN_SRC_KEY   := $(ASAN_BUILD)/nginx-src.stamp
$(ASAN_SRC_KEY): private export STAMP_TEXT = $(NGX_TREE_KEY)
$(ASAN_SRC_KEY): FORCE
	@$(WRITE_STAMP)
ASAN_APT = -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$(CURDIR)/$(ASAN_BUILD)/apt/parts \
           -o Dir::State::Lists=$(CURDIR)/$(ASAN_BUILD)/apt/lists -o Dir::Cache=$(CURDIR)/$(ASAN_BUILD)/apt/cache
$(ASAN_SRC_STAMP): $(ASAN_SRC_KEY) | $(DEPS_STAMP)
	@rm -rf $(ASAN_BUILD)/nginx-src $(ASAN_BUILD)/apt $(ASAN_BUILD)/nginx $(ASAN_BUILD)/nginx.stamp
	@mkdir -p $(ASAN_BUILD)/nginx-src $(ASAN_BUILD)/apt/parts $(ASAN_BUILD)/apt/lists/partial \
	    $(ASAN_BUILD)/apt/cache/archives/partial
	@if [ -f $(NGINX_SRC)/src/core/nginx.c ]; then cp -r $(NGINX_SRC)/. $(ASAN_BUILD)/nginx-src/; \
	else \
	    ver=$$(dpkg-query -W -f='$${Version}' nginx-dev) || exit 1; \
	    echo "make asan: $(NGINX_SRC) has no nginx sources; fetching nginx $$ver's orig tarball (apt-get source)"; \
	    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb-src\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	        > $(ASAN_BUILD)/apt/parts/src.sources; \
	    apt-get $(ASAN_APT) -qq update && \
	    (cd $(ASAN_BUILD)/apt && apt-get $(ASAN_APT) -qq source --download-only --tar-only nginx=$$ver 2>/dev/null) \
	    && tar -xzf $(ASAN_BUILD)/apt/nginx_*.orig.tar.gz -C $(ASAN_BUILD)/nginx-src --strip-components=1 \
	    && cp $(NGINX_SRC)/conf_flags $(ASAN_BUILD)/nginx-src/ \
	    || { echo "make asan: could not get nginx's sources; pass NGINX_SRC=/path/to/nginx-x.y.z" >&2; exit 1; }; \
	fi
	@touch $@

$(ASAN_BUILD)/report_hook.o: t/asan/report_hook.c
	@mkdir -p $(dir $@)
	cc -O1 -g -Wall -c $< -o $@

asan-build: $(ASAN_SRC_STAMP) $(ASAN_BUILD)/report_hook.o
	$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g $(SAN_FLAGS)" \
	    NGINX_SRC=$(CURDIR)/$(ASAN_BUILD)/nginx-src \
	    NGX_CC_OPT="-O1 -g $(NGX_SAN_FLAGS)" NGX_LD_OPT="-fsanitize=address,undefined" \
	    NGX_LINK_OBJS=$(CURDIR)/$(ASAN_BUILD)/report_hook.o NGX_CONF_EXTRA="$(ASAN_NGX_MODULES)" \
	    $(ASAN_BUILD)/tasker-ctl $(ASAN_BUILD)/ngx_http_tasker_auth_module.so $(ASAN_NGINX) \
	    $(patsubst $(BUILD)/%,$(ASAN_BUILD)/%,$(UNIT_BINS))

# `all` too: the README Quick Start that t/docs runs copies build/ngx_http_tasker_auth_module.so
asan: all asan-build
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS) && chmod 1777 $(ASAN_LOGS)
	@start=$$(date +%s); fail=0; \
	for t in $(patsubst $(BUILD)/%,$(ASAN_BUILD)/%,$(UNIT_BINS)); do echo "== $$t"; \
	    $(ASAN_ENV) $$t || fail=1; done; \
	$(ASAN_TEST_ENV) prove -It/lib -r t/ $(PROVE_ARGS) || fail=1; \
	for s in $(SUITES); do echo "== $$s"; $(ASAN_TEST_ENV) $$s || fail=1; done; \
	reports=$$(find $(ASAN_LOGS) -type f | sort); \
	if [ -n "$$reports" ]; then \
	    echo "make asan: sanitizer reports:"; for f in $$reports; do echo "--- $$f"; head -40 "$$f"; done; \
	    fail=1; fi; \
	echo "make asan: $$(( $$(date +%s) - start )) s, $$(echo "$$reports" | grep -c . ) sanitizer report files"; \
	exit $$fail

# ---- fuzzing (issue 10) -------------------------------------------------------------------------
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="toml token"]   libFuzzer (clang), each target N s
#   make fuzz-replay                                          stored corpora t/fuzz/<target>/, g++
# Targets are fuzz/fuzz_<target>.cpp. libFuzzer builds use clang with ASan+UBSan against the core
# compiled the same way (build/fuzz); new corpus entries go to build/fuzz/corpus/<target>/ and
# crashes to build/fuzz/artifacts/<target>/. The replay links each target with
# fuzz/replay_main.cpp instead of libFuzzer (g++, ASan+UBSan, build/replay), so `make test` needs
# no clang.
.PHONY: fuzz fuzz-build fuzz-deps fuzz-replay fuzz-replay-run
FUZZ_BUILD    := build/fuzz
FUZZ_CXX      ?= clang++
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CXXFLAGS := $(CXXSTD) -O1 -g $(WARN) -Isrc $(FUZZ_SAN)
FUZZ_ALL      := $(patsubst fuzz/fuzz_%.cpp,%,$(wildcard fuzz/fuzz_*.cpp))
FUZZ_TARGETS  ?= $(FUZZ_ALL)
FUZZ_SECONDS  ?= 60
FUZZ_ARGS     ?=
FUZZ_OBJS     := $(CORE_SRCS:src/%.cpp=$(FUZZ_BUILD)/core/%.o)
# clang and its runtimes (libFuzzer, the sanitizers), beside make deps' packages; only the
# libFuzzer builds need them, so make deps leaves them out
FUZZ_DEB_PACKAGES := clang libclang-rt-14-dev
FUZZ_DEPS_STAMP   := $(FUZZ_BUILD)/.deps-ok

fuzz-deps: | $(DEPS_STAMP)
	@$(call APT_INSTALL,make fuzz,$(FUZZ_DEB_PACKAGES)); mkdir -p $(FUZZ_BUILD); \
	    touch $(FUZZ_DEPS_STAMP)

$(FUZZ_DEPS_STAMP):
	@$(MAKE) --no-print-directory fuzz-deps

# kept: make deletes the objects of a pattern rule's prerequisites as intermediate files, and then
# rebuilt all of them for any change to a fuzz target or a core file
.SECONDARY: $(FUZZ_OBJS)
$(FUZZ_BUILD)/core/%.o: src/%.cpp $(wildcard src/*.h) | $(FUZZ_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.cpp fuzz/fuzz_common.h $(FUZZ_OBJS) | $(FUZZ_DEPS_STAMP)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) $(CORE_LIBS) -o $@

fuzz-build: $(FUZZ_ALL:%=$(FUZZ_BUILD)/fuzz_%)

# Each target runs in build/fuzz/logs/<target>/, where libFuzzer writes what it writes to its
# working folder (with -jobs=N, fuzz-<n>.log per job), not in the checkout.
fuzz: fuzz-build
	@d=$(CURDIR)/$(FUZZ_BUILD); for t in $(FUZZ_TARGETS); do \
	    mkdir -p $$d/corpus/$$t $$d/artifacts/$$t $$d/logs/$$t; \
	    echo "== fuzz_$$t: $(FUZZ_SECONDS) s"; \
	    (cd $$d/logs/$$t && $$d/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$$d/artifacts/$$t/ $(FUZZ_ARGS) \
	        $$d/corpus/$$t $(CURDIR)/t/fuzz/$$t) || exit 1; \
	done

fuzz-replay:
	@$(MAKE) --no-print-directory BUILD=build/replay \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    fuzz-replay-run

fuzz-replay-run: $(FUZZ_ALL:%=$(BUILD)/fuzz/replay_%)
	@for t in $(FUZZ_ALL); do $(BUILD)/fuzz/replay_$$t t/fuzz/$$t || exit 1; done

$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.cpp fuzz/replay_main.cpp fuzz/fuzz_common.h $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_CORE) $< fuzz/replay_main.cpp $(CORE_LIB) $(CORE_LIBS) -o $@

# ---- demo ---------------------------------------------------------------------------------------
demo: all
	@scripts/demo.sh

# test scratch too: nginx prefixes (t/servroot*), the keys t/lib/TaskerTest.pm generates
# (t/tmp) and the bytecode of the Python suites' helper modules
clean:
	rm -rf $(BUILD) t/servroot* t/tmp fuzz-*.log
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
