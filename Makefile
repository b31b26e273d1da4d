# ngx_http_tasker_auth_module — build, test and demo.
#   make            module (build/ngx_http_tasker_auth_module.so) and build/tasker-ctl
#   make test       unit tests (cmocka), integration tests (t/*.t), gRPC and CLI tests
#   make asan       unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      core micro-benchmarks (token verification, API key lookup)
#   make demo       nginx on localhost with conf-examples/, keys and tokens; shows 401/403/200
#   make deps       installs the Debian packages the project needs (idempotent)
#   NGINX_SRC=/path builds against an upstream nginx tree instead of Debian's nginx-dev.

SHELL      := /bin/bash
BUILD      := build
CXX        ?= g++
CXXSTD     := -std=c++17
WARN       := -Wall -Wextra -Wno-unused-parameter
OPT        ?= -O2 -g
CXXFLAGS_CORE := $(CXXSTD) $(OPT) -fPIC $(WARN) -Isrc $(EXTRA_CXXFLAGS)
CORE_LIBS  := -lcrypto -ljansson -lcurl
NGINX_SRC  ?= /usr/share/nginx/src
NGINX_BIN  ?= /usr/sbin/nginx
PYTHON     := /usr/bin/python3

DEB_PACKAGES := g++ make perl curl openssl nginx-core nginx-dev libpcre2-dev libpcre3-dev \
                zlib1g-dev libssl-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev \
                libtomlplusplus-dev libnginx-mod-http-echo python3 python3-jwt python3-cryptography python3-grpcio

CORE_SRCS  := $(filter-out src/ngx_%,$(wildcard src/*.cpp))
CORE_OBJS  := $(CORE_SRCS:src/%.cpp=$(BUILD)/core/%.o)
CORE_LIB   := $(BUILD)/libtaskerauth.a
CLI_SRCS   := $(wildcard src/cli/*.cpp)
UNIT_SRCS  := $(wildcard t/unit/test_*.cpp)
UNIT_BINS  := $(UNIT_SRCS:t/unit/%.cpp=$(BUILD)/unit/%)
MODULE_SO  := $(BUILD)/ngx_http_tasker_auth_module.so
CLI        := $(BUILD)/tasker-ctl
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps module cli unit test integration asan bench demo clean check-deps

all: module cli

# ---- dependencies -----------------------------------------------------------------------------
# Installs only when a package is missing, so it is cheap to call from every target.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing:" $$missing; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "make deps: apt-get install failed (run as root?)" >&2; exit 1; }; \
	fi; mkdir -p $(BUILD); touch $(DEPS_STAMP)

$(DEPS_STAMP):
	@$(MAKE) --no-print-directory deps

# ---- core archive -----------------------------------------------------------------------------
$(BUILD)/core/%.o: src/%.cpp $(wildcard src/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_CORE) -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

# ---- tasker-ctl ---------------------------------------------------------------------------------
cli: $(CLI)
$(CLI): $(CLI_SRCS) $(CORE_LIB) $(wildcard src/*.h src/cli/*.h)
	$(CXX) $(CXXFLAGS_CORE) $(CLI_SRCS) $(CORE_LIB) $(CORE_LIBS) -o $@

# ---- nginx module -------------------------------------------------------------------------------
# Configured once per nginx tree with that tree's flags (Debian: conf_flags, for binary
# compatibility with /usr/sbin/nginx via --with-compat); `make modules` builds only our .so.
NGX_BUILD := $(BUILD)/nginx
module: $(MODULE_SO)
$(NGX_BUILD)/.configured: config | $(DEPS_STAMP)
	@rm -rf $(NGX_BUILD) && mkdir -p $(NGX_BUILD)
	cp -r $(NGINX_SRC)/. $(NGX_BUILD)/
	cd $(NGX_BUILD) && if [ -f conf_flags ]; then source ./conf_flags; \
	    else NGX_CONF_FLAGS=(--with-compat --with-http_ssl_module --with-http_v2_module --with-threads); fi; \
	    cfg=./configure; [ -x $$cfg ] || cfg=./auto/configure; \
	    TASKER_CORE_LIB=$(CURDIR)/$(CORE_LIB) $$cfg "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(CURDIR) > configure.log 2>&1 \
	    || { tail -20 configure.log; exit 1; }
	@touch $@

ADAPTER_SRCS := ngx_http_tasker_auth_module.cpp $(wildcard src/ngx_*.cpp)
$(MODULE_SO): $(ADAPTER_SRCS) $(CORE_LIB) $(NGX_BUILD)/.configured $(wildcard src/*.h)
	@rm -f $(NGX_BUILD)/objs/ngx_http_tasker_auth_module.so
	@find $(NGX_BUILD)/objs/addon -name '*.o' -delete 2>/dev/null || true
	$(MAKE) --no-print-directory -C $(NGX_BUILD) -f objs/Makefile modules
	cp $(NGX_BUILD)/objs/ngx_http_tasker_auth_module.so $@

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

SUITES := t/cli/run.sh t/grpc/run.sh t/system/run.sh

test: all unit fuzz-replay integration
	@for s in $(SUITES); do echo "== $$s"; $(TEST_ENV) $$s || exit 1; done

# ---- benchmarks (not tests: numbers for the README's Performance section) -----------------------
BENCH_SRCS := $(wildcard bench/bench_*.cpp)
BENCH_BINS := $(BENCH_SRCS:bench/%.cpp=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.cpp $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_CORE) $< $(CORE_LIB) $(CORE_LIBS) -o $@

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b; done

# ---- sanitizers ---------------------------------------------------------------------------------
asan:
	$(MAKE) --no-print-directory BUILD=build/asan \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" unit

# ---- fuzzing (issue 10) -------------------------------------------------------------------------
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="toml token"]   libFuzzer (clang), each target N s
#   make fuzz-replay                                          stored corpora t/fuzz/<target>/, g++
# Targets are fuzz/fuzz_<target>.cpp. libFuzzer builds use clang with ASan+UBSan against the core
# compiled the same way (build/fuzz); new corpus entries go to build/fuzz/corpus/<target>/ and
# crashes to build/fuzz/artifacts/<target>/. The replay links each target with
# fuzz/replay_main.cpp instead of libFuzzer (g++, ASan+UBSan, build/replay), so `make test` needs
# no clang.
.PHONY: fuzz fuzz-build fuzz-replay fuzz-replay-run
FUZZ_BUILD    := build/fuzz
FUZZ_CXX      ?= clang++
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CXXFLAGS := $(CXXSTD) -O1 -g $(WARN) -Isrc $(FUZZ_SAN)
FUZZ_ALL      := $(patsubst fuzz/fuzz_%.cpp,%,$(wildcard fuzz/fuzz_*.cpp))
FUZZ_TARGETS  ?= $(FUZZ_ALL)
FUZZ_SECONDS  ?= 60
FUZZ_ARGS     ?=
FUZZ_OBJS     := $(CORE_SRCS:src/%.cpp=$(FUZZ_BUILD)/core/%.o)

$(FUZZ_BUILD)/core/%.o: src/%.cpp $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.cpp fuzz/fuzz_common.h $(FUZZ_OBJS)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) $(CORE_LIBS) -o $@

fuzz-build: $(FUZZ_ALL:%=$(FUZZ_BUILD)/fuzz_%)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	    echo "== fuzz_$$t: $(FUZZ_SECONDS) s"; \
	    $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ $(FUZZ_ARGS) \
	        $(FUZZ_BUILD)/corpus/$$t t/fuzz/$$t || exit 1; \
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

clean:
	rm -rf $(BUILD) t/servroot*
