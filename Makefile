# chatd build. Every source under src/<layer>/ is found by wildcard, so a new
# file needs no edit here. `make SAN=1 ...` builds and runs under ASan+UBSan
# in its own build directory.

CXX      ?= g++
CXXFLAGS ?= -O2 -g
SAN      ?=
BUILD    ?= build$(if $(SAN),/san,)

WARN     := -Wall -Wextra -Wpedantic
DEPFLAGS := -MMD -MP
SIMDJSON := $(shell pkg-config --cflags --libs simdjson 2>/dev/null || echo -lsimdjson)
# The store links SQLite and runs threads (a checkpointer or, with --fsync, a writer).
SQLITE   := $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3) -pthread
# hiredis (src/cluster) comes with every link of the library: LIBS is what
# any binary that links libchatd.a or the fuzz objects needs.
HIREDIS  := -lhiredis
LIBS     := $(SIMDJSON) $(SQLITE) $(HIREDIS)
ALLFLAGS := -std=c++20 $(WARN) $(CXXFLAGS) -Isrc
ifeq ($(SAN),1)
ALLFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
endif

# LAYERS narrows the build to some layers, e.g. `make LAYERS="base codec ws"
# BUILD=build/ws unit` while other layers are mid-change.
LAYERS     ?= base codec net http ws chat store cluster app
LIB_SRCS   := $(filter-out src/app/main.cc,$(wildcard $(LAYERS:%=src/%/*.cc)))
LIB_OBJS   := $(LIB_SRCS:%.cc=$(BUILD)/obj/%.o)
TEST_SRCS  := $(wildcard $(LAYERS:%=tests/%/*_test.cc))
TEST_OBJS  := $(TEST_SRCS:%.cc=$(BUILD)/obj/%.o)
BENCH_SRCS := $(wildcard bench/micro/*.cc)
BENCH_OBJS := $(BENCH_SRCS:%.cc=$(BUILD)/obj/%.o)
LOAD_SRCS  := $(wildcard bench/load/*.cc)
LOAD_OBJS  := $(LOAD_SRCS:%.cc=$(BUILD)/obj/%.o)
FLOOR_SRCS := $(wildcard bench/floor/*.cc)
FLOOR_OBJS := $(FLOOR_SRCS:%.cc=$(BUILD)/obj/%.o)
FUZZ_SRCS  := $(wildcard fuzz/*_fuzz.cc)
FUZZ_NAMES := $(FUZZ_SRCS:fuzz/%_fuzz.cc=%)

PYTHON ?= /usr/bin/python3

# Objects are kept even when only a test binary needed them.
.SECONDARY:

.PHONY: all deps deps-peers bench-compare bench-cluster run test unit integration browser fuzz-replay fuzz fuzz-ci bench format format-check clean install

all: $(BUILD)/chatd $(BUILD)/unit_tests

deps:
	@scripts/install-deps.sh

# The peer servers of bench/peers and gnuplot: for bench-compare and its test.
deps-peers:
	@scripts/install-deps.sh --peers

run: deps $(BUILD)/chatd
	$(BUILD)/chatd --port 8080

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(ALLFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libchatd.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/chatd: $(BUILD)/obj/src/app/main.o $(BUILD)/libchatd.a
	$(CXX) $(LDSAN) -o $@ $^ $(LIBS)

$(BUILD)/unit_tests: $(TEST_OBJS) $(BUILD)/libchatd.a
	$(CXX) $(LDSAN) -o $@ $^ -lgtest -lgmock -lgtest_main $(LIBS) -pthread

$(BUILD)/micro_bench: $(BENCH_OBJS) $(BUILD)/libchatd.a
	$(CXX) -o $@ $^ -lbenchmark -lbenchmark_main $(LIBS) -pthread

$(BUILD)/chat_load: $(LOAD_OBJS) $(BUILD)/libchatd.a
	$(CXX) $(LDSAN) -o $@ $^ $(LIBS)

# floor, the fan-out baseline scripts/loadtest.sh compares chatd with: its
# own small program, sharing only codec/ (SHA-1, Base64) with chatd.
$(BUILD)/floor: $(FLOOR_OBJS) $(BUILD)/libchatd.a
	$(CXX) $(LDSAN) -o $@ $^

# Each fuzz target also builds with g++ against a replay main, so its seed
# corpus runs as a plain regression test (and under SAN=1).
$(BUILD)/fuzz/%_replay: $(BUILD)/obj/fuzz/%_fuzz.o $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/libchatd.a
	@mkdir -p $(dir $@)
	$(CXX) $(LDSAN) -o $@ $^ $(LIBS)

unit: deps $(BUILD)/unit_tests
	$(BUILD)/unit_tests --gtest_brief=1

fuzz-replay: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%_replay)
	@set -e; for n in $(FUZZ_NAMES); do $(BUILD)/fuzz/$${n}_replay fuzz/corpus/$$n; done

integration: deps-peers $(BUILD)/chatd $(BUILD)/chat_load $(BUILD)/floor
	CHATD_BIN=$(abspath $(BUILD)/chatd) CHAT_LOAD_BIN=$(abspath $(BUILD)/chat_load) \
	  FLOOR_BIN=$(abspath $(BUILD)/floor) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

browser: deps $(BUILD)/chatd
	@if [ -d tests/browser ] && ls tests/browser/*.test.mjs >/dev/null 2>&1; then \
	  CHATD_BIN=$(abspath $(BUILD)/chatd) node --test tests/browser/; fi

test: deps
	$(MAKE) --no-print-directory unit fuzz-replay integration browser

# libFuzzer builds need clang; the library is compiled once with coverage
# instrumentation and linked into each target. FUZZ_SECONDS bounds each run.
FUZZ_SECONDS ?= 60
FUZZ_CXX     ?= clang++-14
FUZZ_FLAGS   := -std=c++20 -O1 -g -Isrc -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_OBJS    := $(LIB_SRCS:%.cc=$(BUILD)/fuzzobj/%.o)
$(BUILD)/fuzzobj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@
$(BUILD)/libfuzz/%: fuzz/%_fuzz.cc $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LIBS)

fuzz: $(FUZZ_NAMES:%=$(BUILD)/libfuzz/%)
	@set -e; for n in $(FUZZ_NAMES); do mkdir -p $(BUILD)/corpus/$$n; \
	  $(BUILD)/libfuzz/$$n -max_total_time=$(FUZZ_SECONDS) $(BUILD)/corpus/$$n fuzz/corpus/$$n; done

bench: deps $(BUILD)/micro_bench $(BUILD)/chat_load $(BUILD)/chatd $(BUILD)/floor
	flock /tmp/bench.lock $(BUILD)/micro_bench --benchmark_min_time=0.2
	CHATD=$(BUILD)/chatd CHAT_LOAD=$(BUILD)/chat_load FLOOR=$(BUILD)/floor \
	  flock /tmp/bench.lock scripts/loadtest.sh --short

# chatd, floor and the peers of bench/peers under the same scenarios
# (BENCHMARKS.md): writes docs/bench/compare.{md,svg,jsonl}. With the default
# 3 runs, 25 minutes on a loaded machine, less on a quiet one;
# COMPARE_ARGS="--runs 1 --duration 2" for a quick look.
COMPARE_ARGS ?= --runs 3
bench-compare: deps-peers $(BUILD)/chatd $(BUILD)/chat_load $(BUILD)/floor
	CHATD=$(BUILD)/chatd CHAT_LOAD=$(BUILD)/chat_load FLOOR=$(BUILD)/floor \
	  flock /tmp/bench.lock scripts/loadtest.sh --peers $(COMPARE_ARGS)

# Several nodes, one service (issue 13; BENCHMARKS.md): 2 chatd nodes on a
# fresh Redis against one chatd and against Node ws on Redis. Until chatd
# has its Redis broker the nodes are skipped with a warning.
CLUSTER_ARGS ?= --runs 3
bench-cluster: deps-peers $(BUILD)/chatd $(BUILD)/chat_load
	CHATD=$(BUILD)/chatd CHAT_LOAD=$(BUILD)/chat_load \
	  flock /tmp/bench.lock scripts/loadtest.sh --cluster $(CLUSTER_ARGS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cc' '*.h')

# `make install` (PREFIX, DESTDIR as usual): the binary to $(PREFIX)/bin and
# the web client to $(PREFIX)/share/chatd/static, where the installed binary
# looks for it. The old client is replaced, not merged.
PREFIX  ?= /usr/local
DESTDIR ?=

install: $(BUILD)/chatd
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/chatd
	install -m 755 $(BUILD)/chatd $(DESTDIR)$(PREFIX)/bin/chatd
	rm -rf $(DESTDIR)$(PREFIX)/share/chatd/static
	cp -R static $(DESTDIR)$(PREFIX)/share/chatd/static
	chmod -R u=rwX,go=rX $(DESTDIR)$(PREFIX)/share/chatd/static

clean:
	rm -rf build

-include $(FUZZ_OBJS:.o=.d) $(FUZZ_SRCS:%.cc=$(BUILD)/obj/%.d) $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(BENCH_OBJS:.o=.d) $(LOAD_OBJS:.o=.d) $(FLOOR_OBJS:.o=.d) $(BUILD)/obj/src/app/main.d

# whole-server fuzz target
# fuzz/server_fuzz.cc runs chatd::Server against a fake kernel (fuzz/fake_os.h)
# whose syscalls replace the real ones at link time with --wrap, so it has its
# own rules: explicit, they take precedence over the generic fuzz patterns
# above, and `fuzz` / `fuzz-replay` reach them through $(FUZZ_NAMES).
SERVER_FUZZ_WRAPS   := socket setsockopt bind listen getsockname accept4 read write recv send \
                       sendmsg writev shutdown close epoll_create1 epoll_ctl epoll_wait \
                       signalfd sigprocmask getrlimit clock_gettime getrandom
SERVER_FUZZ_LDWRAP  := $(SERVER_FUZZ_WRAPS:%=-Wl,--wrap=%)
SERVER_FUZZ_HELPERS := fuzz/fake_os.cc fuzz/fake_syscalls.cc fuzz/fuzz_script.cc fuzz/wire_check.cc
SERVER_FUZZ_OBJS    := $(SERVER_FUZZ_HELPERS:%.cc=$(BUILD)/obj/%.o)

$(BUILD)/fuzz/server_replay: $(BUILD)/obj/fuzz/server_fuzz.o $(SERVER_FUZZ_OBJS) \
                             $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/libchatd.a
	@mkdir -p $(dir $@)
	$(CXX) $(LDSAN) $(SERVER_FUZZ_LDWRAP) -o $@ $^ $(LIBS)

$(BUILD)/libfuzz/server: fuzz/server_fuzz.cc $(SERVER_FUZZ_HELPERS:%.cc=$(BUILD)/fuzzobj/%.o) $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $(SERVER_FUZZ_LDWRAP) -o $@ $< \
	  $(SERVER_FUZZ_HELPERS:%.cc=$(BUILD)/fuzzobj/%.o) $(FUZZ_OBJS) $(LIBS)

-include $(SERVER_FUZZ_OBJS:.o=.d) $(BUILD)/obj/fuzz/server_fuzz.d \
  $(SERVER_FUZZ_HELPERS:%.cc=$(BUILD)/fuzzobj/%.d)
