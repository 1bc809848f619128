# The concurrency-model comparison suite.
#
#   make            build every server, the load generator and the test tools
#   make test       make sure the test tools are installed, build, run the bats suites
#   make deps       install every Debian package the suite uses (as root)
#   make lint       clang-format check and shellcheck
#   make clean      remove build/ and bin/
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

MODELS := blocking fork thread pool select poll epoll-lt epoll-et
SERVERS := $(MODELS:%=$(BIN)/echo-%)

# The load generator: every client/*.c linked into one program.
CLIENT_SRCS := $(wildcard client/*.c)
CLIENT := $(if $(CLIENT_SRCS),$(BIN)/loadgen)

# Test tools: each tests/tools/NAME.c is one small program, build/tests/NAME.
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOLS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)

ALL_CFLAGS = $(REQUIRED_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
WRAP_OBJ := $(BUILD)/wrap.o

.PHONY: all test deps lint clean
all: $(SERVERS) $(CLIENT) $(TOOLS)

$(BUILD)/%.o: servers/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/client/%.o: client/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iservers -c -o $@ $<

$(BUILD)/tests/%.o: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iservers -c -o $@ $<

$(BIN)/echo-%: $(BUILD)/%.o $(WRAP_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/loadgen: $(CLIENT_SRCS:%.c=$(BUILD)/%.o) $(WRAP_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(WRAP_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

# Keep the objects: make would otherwise delete them as intermediates.
.SECONDARY:

TEST_PACKAGES := gcc make bats bats-support bats-assert jq gnuplot-nox
ALL_PACKAGES := $(TEST_PACKAGES) gnuplot-nox shellcheck clang-format strace

test:
	@tests/ensure-packages $(TEST_PACKAGES)
	@$(MAKE) --no-print-directory all
	bats --print-output-on-failure tests/

# The comparison: every model through every workload, charts and a summary
# in results/<UTC time>-<host>/ (bench/run.sh says how). BENCH=quick for a
# one-minute run, BENCH=full for the long one; PIN=0 leaves CPUs unpinned.
.PHONY: bench
bench:
	@tests/ensure-packages gnuplot-nox gcc make
	@$(MAKE) --no-print-directory all
	NO_BUILD=1 bench/run.sh

deps:
	@tests/ensure-packages $(ALL_PACKAGES)

SHELL_SCRIPTS := tests/ensure-packages .ci/run $(wildcard bench/*.sh)

lint:
	@tests/ensure-packages clang-format shellcheck
	clang-format --dry-run --Werror servers/*.c servers/*.h $(CLIENT_SRCS) $(wildcard client/*.h) $(TOOL_SRCS)
	shellcheck $(SHELL_SCRIPTS)
	shellcheck -s bash tests/*.bash
	shellcheck -s bats tests/*.bats 2>/dev/null || shellcheck -s bash tests/*.bats

clean:
	rm -rf $(BUILD) $(BIN)

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d)
