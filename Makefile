# The concurrency-model comparison suite.
#
#   make            build every server, the load generator and the test tools
#   make test       make sure the test tools are installed, build, run the bats suites
#   make test-stress  the suites several times, beside CPU hogs: each test's failures
#   make deps       install every Debian package the suite uses (as root)
#   make lint       clang-format check and shellcheck
#   make clean      remove build/ and bin/
#   make c1m        the idle axis as far as each model goes, projected to 1M connections
#
# CFLAGS is yours to override (make CFLAGS=-O0); the flags the code needs are
# kept apart in REQUIRED_CFLAGS. CI adds -Werror through EXTRA_CFLAGS.

CC ?= cc
CFLAGS ?= -O2 -g -D_FORTIFY_SOURCE=2
EXTRA_CFLAGS ?=
REQUIRED_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -MMD -MP \
	-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
LDFLAGS ?=
LDLIBS := -pthread

BUILD ?= build
BIN ?= bin

# The models and the library each needs come from bench/models.txt, the one
# table of facts about the models (the bench and the suites read it too):
# column 1 the model, 2 its library ("-": none), 3 the Debian package, 4 the
# header, 5 what the link adds. A model that needs a library is built only
# when its header is found (make deps and make test install the packages;
# without them the suites and the bench skip that model and say why).
MODELS_TABLE := bench/models.txt
table_rows = $(shell awk '!/^[[:space:]]*\#/ && NF $(1) { print $$1 }' $(MODELS_TABLE))
model_column = $(shell awk -v m='$(1)' '$$1 == m { print $$$(2) }' $(MODELS_TABLE))
ALL_MODELS := $(call table_rows)
LIBRARY_MODELS := $(call table_rows,&& $$2 != "-")
have_header = $(shell printf '\043include <$(1)>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo yes)
MODELS := $(foreach m,$(ALL_MODELS),$(if $(filter $(m),$(LIBRARY_MODELS)),$(if \
	$(call have_header,$(call model_column,$(m),4)),$(m)),$(m)))
# The datagram server is apart: bench/models.txt lists the stream models,
# the ones the contract suites and the bench sweep drive over TCP and Unix
# sockets; echo-udp has its own suite and bench workload.
DATAGRAM_MODELS := udp
SERVERS := $(MODELS:%=$(BIN)/echo-%) $(DATAGRAM_MODELS:%=$(BIN)/echo-%)

# The load generator: every client/*.c linked into one program.
CLIENT_SRCS := $(wildcard client/*.c)
CLIENT := $(if $(CLIENT_SRCS),$(BIN)/loadgen)

# Test tools: each tests/tools/NAME.c is one small program, build/tests/NAME.
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOLS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)

ALL_CFLAGS = $(REQUIRED_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
# The shared library (servers/wrap.h): one object per module of
# servers/lib/, in one archive, so each program links only what it calls.
# lib/ring.c is the one module that needs a library (liburing): it is kept
# out of the archive and linked into the models that link liburing.
RING_SRC := servers/lib/ring.c
LIB_SRCS := $(filter-out $(RING_SRC),$(wildcard servers/lib/*.c))
LIBWRAP := $(BUILD)/libwrap.a
RING_OBJ := $(BUILD)/lib/ring.o

.PHONY: all test deps lint clean
all: $(SERVERS) $(CLIENT) $(TOOLS)

$(BUILD)/%.o: servers/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBWRAP): $(LIB_SRCS:servers/%.c=$(BUILD)/%.o)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/client/%.o: client/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iservers -c -o $@ $<

$(BUILD)/tests/%.o: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iservers -c -o $@ $<

$(BIN)/echo-%: $(BUILD)/%.o $(LIBWRAP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBWRAP) $(LDLIBS)

$(BIN)/loadgen: $(CLIENT_SRCS:%.c=$(BUILD)/%.o) $(LIBWRAP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBWRAP)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

# The library-backed servers link their library (bench/models.txt: libevent
# links only libevent_core, the event loop and bufferevents).
$(foreach m,$(LIBRARY_MODELS),$(eval %/echo-$(m): LDLIBS += $(call model_column,$(m),5)))
$(foreach m,$(call table_rows,&& $$2 == "liburing"),$(eval $(BIN)/echo-$(m): $(RING_OBJ)))

# Keep the objects: make would otherwise delete them as intermediates.
.SECONDARY:

TEST_PACKAGES := gcc make bats bats-support bats-assert jq gnuplot-nox strace
# The libraries of the library-backed models: installed when we may (as
# root), otherwise those models are left out and the suites say so.
MODEL_PACKAGES := $(foreach m,$(LIBRARY_MODELS),$(call model_column,$(m),3))
ALL_PACKAGES := $(TEST_PACKAGES) $(MODEL_PACKAGES) shellcheck clang-format strace valgrind

test:
	@tests/ensure-packages $(TEST_PACKAGES)
	@tests/ensure-packages --optional $(MODEL_PACKAGES)
	@$(MAKE) --no-print-directory all
	bats --print-output-on-failure tests/

# Flake hunting (tests/stress.sh): the suites RUNS times, beside HOGS busy
# loops, and each test's failure count. SUITES and FILTER narrow it;
# CLONE=1 runs the whole make test from a clean clone of HEAD each time:
#   make test-stress RUNS=10 HOGS=2 SUITES=tests/robustness.bats FILTER='slow reader'
#   make test-stress RUNS=5 HOGS=2 CLONE=1
RUNS ?= 5
HOGS ?= 0
.PHONY: test-stress
test-stress:
	@tests/ensure-packages $(TEST_PACKAGES)
	@tests/ensure-packages --optional $(MODEL_PACKAGES)
	@$(MAKE) --no-print-directory all
	tests/stress.sh -n $(RUNS) --hogs $(HOGS) $(if $(CLONE),--clone) $(if $(FILTER),-f '$(FILTER)') $(SUITES)

# The comparison: every model through every workload, charts and a summary
# in results/<UTC time>-<host>/ (bench/run.sh says how), about 15 minutes.
# BENCH=quick for a one-minute look, BENCH=full for the long one; PIN=0
# leaves CPUs unpinned.
.PHONY: bench
bench:
	@tests/ensure-packages gnuplot-nox gcc make
	@tests/ensure-packages --optional $(MODEL_PACKAGES)
	@$(MAKE) --no-print-directory all
	NO_BUILD=1 bench/run.sh

# Toward a million connections (bench/README.md, "Toward a million
# connections"): the idle axis as far as each model goes here, and the
# memory of 1,000,000 idle connections projected from it. C1M_TARGET for
# another count; IDLE_POINTS for other steps (up to 1000000 on a machine
# whose limits allow it).
.PHONY: c1m
c1m:
	@tests/ensure-packages gnuplot-nox gcc make
	@tests/ensure-packages --optional $(MODEL_PACKAGES)
	@$(MAKE) --no-print-directory all
	BENCH=c1m NO_BUILD=1 bench/run.sh

# The unpinned profile (bench/README.md, "The unpinned profile"): nothing
# pinned, so the multi-core models (prefork, reactors) may use every core;
# every chart says UNPINNED. A few minutes.
.PHONY: bench-unpinned
bench-unpinned:
	@tests/ensure-packages gnuplot-nox gcc make
	@tests/ensure-packages --optional $(MODEL_PACKAGES)
	@$(MAKE) --no-print-directory all
	BENCH=unpinned NO_BUILD=1 bench/run.sh

# The regression gate (bench/README.md, "The regression gate"), two ways:
#   make baseline; make bench-check    record the check profile (BENCH=check,
#       about three minutes) in BASELINE, then run it again and compare
#       (bench/check.sh, bench/compare.sh), and the system calls per message
#   make bench-check BASE=<revision>   build that git revision apart and run
#       it and the working tree alternately (bench/paired.sh): the gate that
#       catches a 15% rise in one model's CPU per message, about ten minutes
# Both print a Markdown table and exit 1 on a regression. One-repeat
# profiles (BENCH=smoke, quick, REPEATS=1) are refused: no noise to judge by.
# SLOWDOWN=thread runs that server under the LD_PRELOAD shim
# tests/tools/preload/slowdown.c: the gate's own test. SLOWDOWN_FACTOR is
# its CPU per message factor (1.15 with BASE, 2 without: what each mode is
# built to catch), SLOWDOWN_US adds CPU per write, SLOWDOWN_SYSCALLS extra
# system calls per write. With BASE only the working tree's server is slowed.
BASELINE ?= results/baseline
BASE ?=
SLOWDOWN ?=
SLOWDOWN_FACTOR ?= $(if $(BASE),1.15,2)
SLOWDOWN_US ?= 0
SLOWDOWN_SYSCALLS ?= 0
SLOWDOWN_SO := $(BUILD)/tests/slowdown.so
comma := ,
SLOWDOWN_VARS = LD_PRELOAD=$(CURDIR)/$(SLOWDOWN_SO) SLOWDOWN_PROG=$(subst $(eval) ,$(comma),$(SLOWDOWN:%=echo-%)) \
	SLOWDOWN_FACTOR=$(SLOWDOWN_FACTOR) SLOWDOWN_US=$(SLOWDOWN_US) SLOWDOWN_SYSCALLS=$(SLOWDOWN_SYSCALLS)
SLOWDOWN_ENV = $(if $(SLOWDOWN),$(if $(BASE),NOW_WRAP='env $(SLOWDOWN_VARS)',$(SLOWDOWN_VARS)))
.PHONY: baseline bench-check
baseline bench-check: export BASELINE := $(abspath $(BASELINE))
baseline:
	@$(MAKE) --no-print-directory all
	NO_BUILD=1 bench/check.sh baseline
bench-check:
	@$(MAKE) --no-print-directory all
	NO_BUILD=1 $(if $(BASE),BASE='$(BASE)') $(SLOWDOWN_ENV) bench/check.sh check

# A paired gate removes its build-base/<hash>-<pid>/ at exit; one killed
# outright leaves it: make clean removes them.
.PHONY: clean-bench-gate
clean: clean-bench-gate
clean-bench-gate:
	rm -rf build-base

# The shim is built with everything (never instrumented: a sanitizer
# build's flags are left out), so that CI compiles it with -Werror.
all: $(SLOWDOWN_SO)
$(SLOWDOWN_SO): tests/tools/preload/slowdown.c
	@mkdir -p $(@D)
	$(CC) $(REQUIRED_CFLAGS) $(filter-out -fsanitize=%,$(CFLAGS)) $(EXTRA_CFLAGS) -shared -fPIC \
		-o $@ $< -ldl

deps:
	@tests/ensure-packages $(ALL_PACKAGES)

SHELL_SCRIPTS := tests/ensure-packages tests/tools/ssh-netns .ci/run $(wildcard bench/*.sh)

lint:
	@tests/ensure-packages clang-format shellcheck
	clang-format --dry-run --Werror servers/*.c servers/*.h servers/lib/*.c servers/lib/*.h $(CLIENT_SRCS) $(wildcard client/*.h) $(TOOL_SRCS)
	shellcheck $(SHELL_SCRIPTS)
	shellcheck -s bash tests/*.bash
	shellcheck -s bats tests/*.bats 2>/dev/null || shellcheck -s bash tests/*.bats

clean:
	rm -rf $(BUILD) $(BIN)

# ---- robustness: sanitizer builds, valgrind, soak ----------------------------
#   make asan      AddressSanitizer + UBSan build (build-asan/, bin-asan/), then
#                  tests/servers.bats and tests/robustness.bats against it, and
#                  tests/udp.bats (echo-udp and loadgen --udp)
#   make tsan      ThreadSanitizer build of the threaded servers (thread, pool,
#                  reactors, leader-follower) and the load generator
#                  (build-tsan/, bin-tsan/),
#                  then both suites for them, and the robustness suite's
#                  loadgen check (the other models run one thread per process)
#   make valgrind  every server under valgrind memcheck for a short session
#                  (uring and libevent skipped, saying why, where they cannot run;
#                  uring reported "not checked" where valgrind aborts on it)
#   make soak      every server under sustained load (SOAK_SECONDS each),
#                  sampling memory and descriptors: growth fails it
# A sanitizer writes each report to a file in build-*/logs (log_path); the
# suites fail a test that left one, and the target fails if any is there.
# Threads get 1 MiB stacks: instrumented frames outgrow the default 64 KiB.
.PHONY: asan tsan valgrind soak clean-robustness
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -DTHREAD_STACK_BYTES=1048576
ASAN_CFLAGS := $(SAN_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=undefined
TSAN_CFLAGS := $(SAN_CFLAGS) -fsanitize=thread
ASAN_LOGS := $(CURDIR)/build-asan/logs
TSAN_LOGS := $(CURDIR)/build-tsan/logs
# quarantine_size_mb: freed blocks ASan keeps to catch use-after-free; 16 MiB
# (not 256) keeps the suites' memory bounds meaningful at 4x.
ASAN_RUN := SANITIZER=asan SERVERS_DIR=bin-asan LOADGEN=$(CURDIR)/bin-asan/loadgen \
	SANITIZER_LOG_DIR=$(ASAN_LOGS) \
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:quarantine_size_mb=16:log_path=$(ASAN_LOGS)/asan \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(ASAN_LOGS)/ubsan
TSAN_MODELS := thread pool reactors leader-follower
TSAN_RUN := SANITIZER=tsan SERVERS_DIR=bin-tsan LOADGEN=$(CURDIR)/bin-tsan/loadgen \
	SANITIZER_LOG_DIR=$(TSAN_LOGS) SERVER_MODELS="$(TSAN_MODELS)" \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:log_path=$(TSAN_LOGS)/tsan
# Fails, printing them, when a sanitizer left any report in $(1). ASan's
# notice that it "doesn't fully support makecontext/swapcontext" (printed
# once by every process that switches coroutines: echo-coroutine) is not a
# report: a file with nothing else in it does not count.
SANITIZER_NOTICE := WARNING: ASan doesn't fully support makecontext/swapcontext
no_reports = @found=; for f in $(1)/*; do [ -e "$$f" ] || continue; \
	if grep -vF "$(SANITIZER_NOTICE)" "$$f" | grep -q .; then cat "$$f"; found=1; fi; done; \
	if [ -n "$$found" ]; then echo "sanitizer reports in $(1) (above)" >&2; exit 1; fi

asan:
	@tests/ensure-packages $(TEST_PACKAGES)
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=bin-asan CFLAGS="$(ASAN_CFLAGS)" all
	rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	$(ASAN_RUN) bats --print-output-on-failure tests/servers.bats tests/robustness.bats tests/udp.bats
	$(call no_reports,$(ASAN_LOGS))

tsan:
	@tests/ensure-packages $(TEST_PACKAGES)
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build-tsan BIN=bin-tsan CFLAGS="$(TSAN_CFLAGS)" \
		$(TSAN_MODELS:%=bin-tsan/echo-%) $(if $(CLIENT),bin-tsan/loadgen)
	rm -rf $(TSAN_LOGS) && mkdir -p $(TSAN_LOGS)
	$(TSAN_RUN) bats --print-output-on-failure tests/servers.bats tests/robustness.bats
	$(call no_reports,$(TSAN_LOGS))

valgrind:
	@tests/ensure-packages valgrind
	@$(MAKE) --no-print-directory all
	tests/valgrind.sh

# Takes /tmp/bench.lock itself, so it never runs beside a benchmark.
soak:
	@$(MAKE) --no-print-directory all
	bench/soak.sh

clean: clean-robustness
clean-robustness:
	rm -rf build-asan bin-asan build-tsan bin-tsan

SHELL_SCRIPTS += tests/valgrind.sh

# The LD_PRELOAD shim that widens the race of reactors' spare descriptor
# (tests/tools/preload/slow-spare.c), for tests/robustness.bats: built with
# everything, never instrumented (a sanitizer build's flags are left out).
SLOW_SPARE_SO := $(BUILD)/tests/slow-spare.so
all: $(SLOW_SPARE_SO)
$(SLOW_SPARE_SO): tests/tools/preload/slow-spare.c
	@mkdir -p $(@D)
	$(CC) $(REQUIRED_CFLAGS) $(filter-out -fsanitize=%,$(CFLAGS)) $(EXTRA_CFLAGS) -shared -fPIC \
		-o $@ $< -ldl

# ---- teaching: watch a model, count its system calls -------------------------
#   make demo MODEL=select  that server's -v trace while a few slow clients use it, and
#                           its timeline picture (bench/demo.sh; docs/experiments.md
#                           says what to look for)
#   make demo-all           every model's demo, and one sheet of their timelines
#                           (bench/demo-all.sh: results/demo/all.png)
#   make syscalls           system calls per echoed message, by call, for every model
#                           at a few connection counts (bench/syscalls.sh): a table on
#                           stdout and in results/latest/syscalls.md; holds the bench lock
#   make spread             how prefork (shared listener, --reuseport) and reactors spread
#                           connections over their workers (bench/spread.sh, ~2 min)
#   make bench-udp          what --batch buys echo-udp: system calls, CPU and throughput per
#                           datagram with and without recvmmsg/sendmmsg (bench/udp.sh, ~1 min)
.PHONY: demo demo-all syscalls spread bench-udp
demo-all: all
	bench/demo-all.sh
demo:
	@if [ -z "$(MODEL)" ]; then echo "usage: make demo MODEL=<one of: $(MODELS)>" >&2; exit 2; fi
	@$(MAKE) --no-print-directory all
	bench/demo.sh $(MODEL)

syscalls:
	@tests/ensure-packages strace
	@$(MAKE) --no-print-directory all
	bench/syscalls.sh

spread:
	@$(MAKE) --no-print-directory all
	bench/spread.sh

bench-udp:
	@tests/ensure-packages jq
	@$(MAKE) --no-print-directory all
	bench/udp.sh

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d)
