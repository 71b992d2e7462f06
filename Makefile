# amirotd — see README.md. `make` builds, `make check` tests, `make deps` installs
# the Debian packages both need (as root).

VERSION := 0.1.0
PREFIX ?= /usr
SYSCONFDIR ?= /etc
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
BUILD ?= build

# The repository may live in a folder whose name has a space ("~/my projects/amirotd"):
# every path below is relative to it, and every path a recipe hands the shell is
# quoted. GNU make cannot name a target with whitespace, though, and the unit
# names the binary's path: those few variables must be single words.
$(foreach v,BUILD PREFIX SYSCONFDIR BINDIR,$(if $(filter 1,$(words $($(v)))),,\
	$(error $(v)='$($(v))' is empty or has whitespace: make cannot use it as a target or an install \
		path (the repository's own folder may have spaces; BUILD is relative to it, default 'build'))))

CC ?= cc
V ?= 0
Q := $(if $(filter 1,$(V)),,@)
PYTHON := /usr/bin/python3
PKGS := libcurl libcrypto yaml-0.1 libsystemd libxml-2.0 json-c

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wcast-qual -Wformat=2 -Wvla -Wno-missing-field-initializers
HARDENING := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT ?= -O2 -g
CFLAGS_ALL = -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARNINGS) $(HARDENING) -MMD -MP \
	-DVERSION='"$(VERSION)"' -Idaemon $(shell pkg-config --cflags $(PKGS)) $(CFLAGS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS := $(shell pkg-config --libs $(PKGS)) -lm

# The AWS client (knows nothing of policies), then the product, lowest floor first.
# Every include is written from daemon/: "base/util.h", "aws/ec2.h", "run/plan.h".
AWS_SRCS := \
	daemon/aws/client.c \
	daemon/aws/creds.c \
	daemon/aws/creds-chain.c \
	daemon/aws/creds-container.c \
	daemon/aws/creds-describe.c \
	daemon/aws/creds-imds.c \
	daemon/aws/creds-parse.c \
	daemon/aws/creds-process.c \
	daemon/aws/creds-role.c \
	daemon/aws/creds-sts.c \
	daemon/aws/creds-webid.c \
	daemon/aws/ec2-types.c \
	daemon/aws/ec2.c \
	daemon/aws/ec2-calls.c \
	daemon/aws/ec2-image-calls.c \
	daemon/aws/ec2-share-calls.c \
	daemon/aws/ec2-template-calls.c \
	daemon/aws/ec2-copy-calls.c \
	daemon/aws/ec2-share-parse.c \
	daemon/aws/ec2-instance-calls.c \
	daemon/aws/ec2-console.c \
	daemon/aws/ec2-sync.c \
	daemon/aws/endpoint.c \
	daemon/aws/endpoint-resolve.c \
	daemon/aws/partitions.c \
	daemon/aws/profile.c \
	daemon/aws/error.c \
	daemon/aws/http-transfer.c \
	daemon/aws/http.c \
	daemon/aws/pace.c \
	daemon/aws/query.c \
	daemon/aws/retry.c \
	daemon/aws/sigv4.c \
	daemon/aws/stats.c \
	daemon/aws/ec2-usage.c \
	daemon/aws/json.c \
	daemon/aws/ssm.c \
	daemon/aws/ssm-command.c

DAEMON_SRCS := \
	daemon/base/log.c \
	daemon/base/spawn.c \
	daemon/base/util.c \
	daemon/base/clock-step.c \
	daemon/schedule/time.c \
	daemon/schedule/tzif.c \
	daemon/schedule/cron.c \
	daemon/schedule/zone.c \
	daemon/schedule/schedule.c \
	daemon/config/diag.c \
	daemon/config/yaml.c \
	daemon/config/value.c \
	daemon/config/policy-schedule.c \
	daemon/config/policy-retain.c \
	daemon/config/policy-ssm.c \
	daemon/config/policy-image.c \
	daemon/config/policy-hook.c \
	daemon/config/policy-retire.c \
	daemon/config/policy-template.c \
	daemon/config/policy.c \
	daemon/config/policy-protect.c \
	daemon/config/policy-copy.c \
	daemon/config/policy-share.c \
	daemon/config/policy-adopt.c \
	daemon/config/policy-verify.c \
	daemon/config/global.c \
	daemon/config/load.c \
	daemon/config/dump.c \
	daemon/run/plan-name.c \
	daemon/run/plan.c \
	daemon/run/plan-bound.c \
	daemon/run/plan-keep.c \
	daemon/run/plan-sweep.c \
	daemon/run/plan-stage.c \
	daemon/run/plan-action.c \
	daemon/run/plan-retire.c \
	daemon/run/plan-volumes.c \
	daemon/run/plan-protect.c \
	daemon/run/plan-copy.c \
	daemon/run/verify-plan.c \
	daemon/run/hook-script.c \
	daemon/run/adopt-plan.c \
	daemon/run/clients.c \
	daemon/run/targets.c \
	daemon/run/probe.c \
	daemon/run/probe-check.c \
	daemon/run/probe-dist.c \
	daemon/run/exec-chain.c \
	daemon/run/exec.c \
	daemon/run/exec-retire.c \
	daemon/run/exec-unshare.c \
	daemon/run/exec-dereg-protect.c \
	daemon/run/exec-stage.c \
	daemon/run/protect.c \
	daemon/run/exec-protect.c \
	daemon/run/plan-hook.c \
	daemon/run/hook-local.c \
	daemon/run/hook-log.c \
	daemon/run/hook-ssm.c \
	daemon/run/thaw-keeper.c \
	daemon/run/exec-hook.c \
	daemon/run/exec-hook-recover.c \
	daemon/run/wait.c \
	daemon/run/dist-images.c \
	daemon/run/dist-newest.c \
	daemon/run/dist-template-plan.c \
	daemon/run/dist-template.c \
	daemon/run/dist-copy-exec.c \
	daemon/run/dist-copy.c \
	daemon/run/dist-result.c \
	daemon/run/dist.c \
	daemon/run/dist-ssm.c \
	daemon/run/dist-ssm-plan.c \
	daemon/run/dist-share-plan.c \
	daemon/run/dist-share.c \
	daemon/run/verify.c \
	daemon/run/verify-recover.c \
	daemon/run/verify-end.c \
	daemon/run/engine-describe.c \
	daemon/run/engine-log.c \
	daemon/run/result.c \
	daemon/run/engine.c \
	daemon/run/orphans.c \
	daemon/commands-common.c \
	daemon/commands-check.c \
	daemon/commands.c \
	daemon/metrics.c \
	daemon/status.c \
	daemon/generation.c \
	daemon/commands-list.c \
	daemon/commands-list-dist.c \
	daemon/commands-list-share.c \
	daemon/commands-protect.c \
	daemon/commands-adopt.c \
	daemon/unit.c \
	daemon/loop.c

LIB_SRCS := $(AWS_SRCS) $(DAEMON_SRCS)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libamirotd.a

# One cmocka program per module: tests/unit/test-NAME.c.
UNIT_TESTS := \
	client \
	client-pace \
	config \
	config-retain \
	config-volumes \
	config-hook \
	hook-script \
	config-protect \
	config-template \
	config-ssm \
	config-copy \
	config-share \
	config-adopt \
	config-verify \
	creds \
	creds-process \
	creds-role \
	creds-container \
	creds-webid \
	dist-template \
	dist-ssm \
	dist-share \
	dist-share-plan \
	ec2 \
	ec2-calls \
	ec2-share \
	ec2-usage \
	ec2-template-calls \
	ec2-stream \
	ec2-instance \
	ec2-instance-calls \
	endpoint \
	http \
	metrics \
	pace \
	plan \
	plan-scale \
	plan-retire \
	plan-keep \
	plan-volumes \
	plan-hook \
	spawn \
	plan-protect \
	plan-stage \
	plan-copy \
	plan-verify \
	verify-plan \
	adopt-plan \
	query \
	retry \
	schedule \
	sigv4 \
	ssm \
	ssm-command \
	ssm-command-calls \
	tzif \
	util

UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/tests/test-%)

.PHONY: all check check-structure check-plan-pure check-unit check-ec2sim asan valgrind fuzz fuzz-build fuzz-lib fuzz-replay clean deps \
	install sigv4-vectors tz-vectors golden uninstall deb rpm check-unit-file check-examples check-iam-policy check-systemd check-integration \
	check-man demo bench check-bench check-space-path check-schedule soak $(SOAK_SUITES) check-oracle check-reliability

all: $(BUILD)/amirotd $(LIB) $(UNIT_BINS) $(BUILD)/tests/schedule-oracle $(BUILD)/tests/pace-table \
	$(BUILD)/tests/hook-script-print

$(BUILD)/amirotd: $(BUILD)/daemon/main.o $(LIB)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDFLAGS_ALL) $(LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	$(Q)ar rcs $@ $^

# The schedule code as a filter for the differential tests of tests/schedule.
$(BUILD)/tests/schedule-oracle: tests/unit/schedule-oracle.c $(LIB)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDFLAGS_ALL) $(LIBS)

# The freeze and thaw scripts as text, for tests/integration/test_hook_script.py to run.
$(BUILD)/tests/hook-script-print: tests/unit/hook-script-print.c $(LIB)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDFLAGS_ALL) $(LIBS)

# The client's pacing table as a filter, held against ec2sim's by tests/ec2sim/test_pace_table.py.
$(BUILD)/tests/pace-table: tests/unit/pace-table.c $(LIB)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDFLAGS_ALL) $(LIBS)

$(BUILD)/tests/test-%: tests/unit/test-%.c $(LIB)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDFLAGS_ALL) $(TEST_LDFLAGS) $(LIBS) -lcmocka

# Out of memory while reading an answer, injected into the real client (see the test).
$(BUILD)/tests/test-ssm-command-calls: TEST_LDFLAGS = -Wl,--wrap=aws_json_response_parse

# Installs what is missing (deps), then every test.
check: deps
	@$(MAKE) --no-print-directory check-structure check-plan-pure check-unit check-schedule check-ec2sim check-oracle check-integration \
		check-reliability check-man check-examples check-iam-policy check-unit-file check-systemd rpm check-space-path check-bench

check-unit: $(UNIT_BINS) sigv4-vectors tz-vectors
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $(TEST_WRAPPER) "$$t"; done

# test-sigv4 compares with botocore's SigV4Auth, which signs its table anew on every
# run; the test reads the file beside itself.
sigv4-vectors:
	@mkdir -p "$(BUILD)/tests"
	$(Q)$(PYTHON) tests/unit/sigv4-botocore.py "$(BUILD)/tests/sigv4-vectors.txt"

# test-tzif compares with Python's zoneinfo (its own reader of the same zone files):
# a seeded sample of a few hundred instants and wall times per zone; TZ_PER_ZONE=5000
# for the thorough run.
TZ_PER_ZONE ?= 300
tz-vectors:
	@mkdir -p "$(BUILD)/tests"
	$(Q)$(PYTHON) tests/unit/tz-zoneinfo.py "$(BUILD)/tests/tz-vectors.txt" --per-zone $(TZ_PER_ZONE)

# The schedules against implementations this project did not write: croniter for cron,
# Python's zoneinfo for time zones (tests/schedule/oracle.py). A seeded sample here, a few
# hundred cases per oracle in seconds; `make soak` runs the large one. AMIROTD_TEST_SEED
# replays a reported case.
SCHEDULE_ORACLE_CASES ?= 300
check-schedule: $(BUILD)/tests/schedule-oracle
	SCHEDULE_ORACLE="$(abspath $(BUILD)/tests/schedule-oracle)" SCHEDULE_ORACLE_CASES=$(SCHEDULE_ORACLE_CASES) \
		$(PYTHON) -m pytest -q -s tests/schedule

# Long runs of the differential suites, outside `make check`: each soak-NAME target is one
# suite, and `make soak` runs them all (minutes, not seconds).
SOAK_SUITES := soak-schedule soak-reliability check-oracle-full
soak: $(SOAK_SUITES)

# Every DST transition of 2026-2030 with every schedule and instant (about 400,000 queries),
# and 20,000 random cases per oracle.
soak-schedule: $(BUILD)/tests/schedule-oracle
	SCHEDULE_ORACLE="$(abspath $(BUILD)/tests/schedule-oracle)" SCHEDULE_ORACLE_CASES=20000 SCHEDULE_ORACLE_ALL=1 \
		$(PYTHON) -m pytest -q -s tests/schedule

# tests/reliability (issue 11): crash consistency, faults, outages, clock steps, bad
# input, secrets and safety, through the real binary. The short version of each suite
# runs in make check; soak-reliability runs the long ones and writes their figures, with
# the command and seed that reproduce them, to docs/reliability.md. RELIABILITY_SEED=N
# replays a run. One test at a time: the clock suite steps the wall clock.
RELIABILITY_SEED ?= 11
# tests/reliability/test_fuzz_soak.py: every fuzz harness for this long, in soak-reliability
SOAK_FUZZ_SECONDS ?= 60
check-reliability: $(BUILD)/amirotd
	RELIABILITY_SEED=$(RELIABILITY_SEED) AMIROTD="$(abspath $(BUILD)/amirotd)" $(PYTHON) -m pytest -q tests/reliability

soak-reliability: $(BUILD)/amirotd
	@mkdir -p "$(BUILD)" docs
	rm -f "$(BUILD)/reliability-figures.jsonl"
	RELIABILITY_LONG=1 RELIABILITY_SEED=$(RELIABILITY_SEED) RELIABILITY_FIGURES="$(abspath $(BUILD))/reliability-figures.jsonl" \
		FUZZ_SECONDS=$(SOAK_FUZZ_SECONDS) AMIROTD="$(abspath $(BUILD)/amirotd)" $(PYTHON) -m pytest -q tests/reliability
	$(PYTHON) tests/reliability/report.py "$(BUILD)/reliability-figures.jsonl" >docs/reliability.md

# File and function sizes, floors and circles of daemon/ (the script says why).
check-structure: all
	$(PYTHON) tests/structure/check-structure --build $(BUILD)

# The planner is pure (design.md): plan.c, plan-bound.c, plan-sweep.c, plan-retire.c and plan-volumes.c must build with no library's
# include path, and nothing they include, however indirectly, may reach the AWS client or
# its libraries.
PLAN_IMPURE := aws/(client|creds|ec2|http|query)\.h|libxml/|curl/|systemd/|json-c/
PLAN_PURE_SRCS := daemon/run/plan.c daemon/run/plan-action.c daemon/run/plan-keep.c daemon/run/plan-bound.c \
	daemon/run/plan-sweep.c daemon/run/plan-retire.c daemon/run/plan-volumes.c daemon/run/plan-protect.c daemon/run/plan-stage.c \
	daemon/run/plan-copy.c daemon/run/adopt-plan.c daemon/run/plan-hook.c \
	daemon/run/verify-plan.c
check-plan-pure:
	@for f in $(PLAN_PURE_SRCS); do \
		deps=$$($(CC) -std=gnu11 -D_GNU_SOURCE -Idaemon -M -MG $$f) || exit 1; \
		bad=$$(echo "$$deps" | tr ' \\' '\n\n' | grep -E '$(PLAN_IMPURE)'); \
		if [ -n "$$bad" ]; then echo "$$f must not depend on:" $$bad; exit 1; fi; \
		$(CC) -std=gnu11 -D_GNU_SOURCE $(WARNINGS) -Idaemon -fsyntax-only $$f || exit 1; \
	done
	@echo "ok: $(PLAN_PURE_SRCS) compile without the AWS client, libxml2, curl or sd-event"

check-ec2sim: $(BUILD)/tests/pace-table
	PACE_TABLE="$(abspath $(BUILD)/tests/pace-table)" $(PYTHON) -m pytest -q tests/ec2sim

# The real binary against the simulator, with a real journald for the daemon's tests.
# Each test has a simulator, a configuration and processes of its own, and most of its
# time is waiting: TEST_JOBS pytest processes (pytest-xdist) run them side by side.
INTEGRATION_TESTS ?= tests/integration
TEST_JOBS ?= 2
check-integration: $(BUILD)/amirotd $(BUILD)/tests/hook-script-print
	AMIROTD="$(abspath $(BUILD)/amirotd)" $(PYTHON) -m pytest -q -n $(TEST_JOBS) $(INTEGRATION_TESTS)

# botocore as the oracle (tests/oracle): the credential source, working keys from each
# source served by ec2sim, and endpoint URLs. check-oracle runs a seeded sample of each
# test's cases (ORACLE_SAMPLE per test, ORACLE_SEED to draw another); check-oracle-full
# runs every case (minutes: the endpoint oracle asks botocore for 4 480 URLs), for
# `make soak` to take up.
ORACLE_SAMPLE ?= 10
ORACLE_SEED ?= 18
check-oracle: $(BUILD)/amirotd
	ORACLE_SAMPLE=$(ORACLE_SAMPLE) ORACLE_SEED=$(ORACLE_SEED) AMIROTD="$(abspath $(BUILD)/amirotd)" \
		$(PYTHON) -m pytest -q tests/oracle

check-oracle-full: $(BUILD)/amirotd
	AMIROTD="$(abspath $(BUILD)/amirotd)" $(PYTHON) -m pytest -q tests/oracle

check-man:
	mandoc -Tlint -W warning man/amirotd.8 man/amirotd.yaml.5

# The README's first command: a guided tour against the bundled EC2 simulator.
demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/amirotd
	@AMIROTD="$(BUILD)/amirotd" tests/demo/demo.sh

# Figures, not verdicts: amirotd and a plain boto3 script (bench/peer) side by side on
# simulators with EC2's buckets; writes bench/results.md and bench/results.png. Long:
# about 45 minutes per run of the default rows, mostly the boto3 script at 3000
# instances, times BENCH_RUNS (3); BENCH_FULL=1 adds the 10 000-instance row.
# bench/README.md lists the knobs.
bench: $(BUILD)/amirotd
	AMIROTD="$(BUILD)/amirotd" bench/run-bench

# The planner alone (bench/plan-bench.c): CPU seconds and peak RSS of plan_build at 1 000,
# 10 000 and 14 300 instances of 7 images. BENCH_PLAN_SIZES="1000" for a quick look.
.PHONY: bench-plan
BENCH_PLAN_SIZES ?=
$(BUILD)/bench/plan-bench: bench/plan-bench.c $(LIB)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDFLAGS_ALL) $(LIBS)

bench-plan: $(BUILD)/bench/plan-bench
	"$(BUILD)/bench/plan-bench" $(BENCH_PLAN_SIZES)

# Memory (bench/memory-bench): idle with 1 and 50 policies, and the peak of `once` at
# 1 000, 3 000 and 10 000 instances of 7 images (70 000 images). About four minutes.
.PHONY: bench-memory
BENCH_MEMORY_SIZES ?= 1000 3000 10000
bench-memory: $(BUILD)/amirotd
	@set -e; for p in 1 50; do AMIROTD="$(BUILD)/amirotd" bench/memory-bench idle $$p; done; \
	for n in $(BENCH_MEMORY_SIZES); do AMIROTD="$(BUILD)/amirotd" bench/memory-bench once $$n; done

# The bench's smoke version, in make check: 20 instances, one run, no wait; both tools
# must finish, exit 0 and leave their simulators in the same state. A few seconds.
check-bench: $(BUILD)/amirotd
	AMIROTD="$(BUILD)/amirotd" bench/run-bench --smoke

# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		HARDENING="-fPIE" LDFLAGS="-fsanitize=address,undefined" check-unit

valgrind: $(UNIT_BINS)
	$(MAKE) TEST_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99" check-unit

# libFuzzer harnesses (clang), one per parser of outside input: tests/fuzz/fuzz-NAME.c,
# each run for FUZZ_SECONDS over its seed corpus tests/fuzz/corpus/NAME/.
FUZZERS := config creds creds-process cron ec2-instance ec2-tags http-headers imds profile ssm ssm-command sts tzif xml
FUZZ_SECONDS ?= 30
FUZZ_BINS := $(FUZZERS:%=build-fuzz/fuzz-%)

# One sub-make for the library (two at once would race on it); every harness links to it.
fuzz-lib:
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
		OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
		HARDENING= build-fuzz/libamirotd.a

build-fuzz/fuzz-%: tests/fuzz/fuzz-%.c fuzz-lib
	@echo "  CCLD    $@"
	$(Q)clang -std=gnu11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -Idaemon \
		$(shell pkg-config --cflags $(PKGS)) -o $@ $< build-fuzz/libamirotd.a $(LIBS)

fuzz-build: $(FUZZ_BINS)

# Rewrites tests/data/config/*.ok from the current loader; review the diff before committing.
golden: $(BUILD)/tests/test-config
	AMIROTD_REGENERATE=1 "$(BUILD)/tests/test-config"

fuzz: fuzz-build
	@set -e; for f in $(FUZZERS); do \
		mkdir -p build-fuzz/corpus/$$f; \
		echo "== fuzz-$$f for $(FUZZ_SECONDS) s"; \
		./build-fuzz/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
			-artifact_prefix=build-fuzz/$$f- build-fuzz/corpus/$$f tests/fuzz/corpus/$$f; \
	done

# Every seed corpus once through its harness, no fuzzing: the regression inputs of past crashes.
fuzz-replay: fuzz-build
	@set -e; for f in $(FUZZERS); do \
		./build-fuzz/fuzz-$$f -runs=0 -artifact_prefix=build-fuzz/$$f- tests/fuzz/corpus/$$f \
			>build-fuzz/$$f-replay.log 2>&1 || { cat build-fuzz/$$f-replay.log; exit 1; }; \
		echo "fuzz-$$f: $$(ls tests/fuzz/corpus/$$f | wc -l) seed inputs, no crash"; \
	done

clean:
	rm -rf build build-asan build-fuzz

# ---- Install and packages --------------------------------------------------------------
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/amirotd
INSTALL ?= install
MAN_PAGES := man/amirotd.8 man/amirotd.yaml.5
CONFIG_FILES := config/amirotd.yaml
# The example policy is documentation, not configuration: installed under
# $(DOCDIR)/examples, never into policies.d, so that installing the package
# rotates no example fleet. The README's tour copies it into place.
EXAMPLE_POLICIES := $(sort $(wildcard config/policies.d/*.yaml))

# The unit names $(BINDIR)/amirotd. Files under /etc/amirotd are the operator's:
# one that exists is never replaced. Without DESTDIR the journal's catalog is
# recompiled, as the packages' triggers do. DESTDIR may have spaces (the packages
# pass a folder inside the tree): every use of it is quoted.
install: $(BUILD)/amirotd
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(SYSTEMDUNITDIR)" "$(DESTDIR)$(CATALOGDIR)" \
		"$(DESTDIR)$(DOCDIR)/examples" "$(DESTDIR)$(SYSCONFDIR)/amirotd/policies.d"
	$(INSTALL) -m 0755 "$(BUILD)/amirotd" "$(DESTDIR)$(BINDIR)/amirotd"
	sed "s|/usr/bin/amirotd |$(BINDIR)/amirotd |" systemd/amirotd.service \
		>"$(BUILD)/amirotd.service"
	$(INSTALL) -m 0644 "$(BUILD)/amirotd.service" "$(DESTDIR)$(SYSTEMDUNITDIR)/amirotd.service"
	$(INSTALL) -m 0644 systemd/amirotd.catalog "$(DESTDIR)$(CATALOGDIR)/amirotd.catalog"
	$(INSTALL) -m 0644 packaging/iam-policy.json "$(DESTDIR)$(DOCDIR)/iam-policy.json"
	$(INSTALL) -m 0644 $(EXAMPLE_POLICIES) "$(DESTDIR)$(DOCDIR)/examples/"
	@set -e; for p in $(wildcard $(MAN_PAGES)); do \
		d="$(DESTDIR)$(MANDIR)/man$${p##*.}"; echo "$(INSTALL) -m 0644 $$p $$d/"; \
		$(INSTALL) -d "$$d"; $(INSTALL) -m 0644 "$$p" "$$d/"; \
	done
	@set -e; for f in $(CONFIG_FILES); do \
		d="$(DESTDIR)$(SYSCONFDIR)/amirotd/$${f#config/}"; \
		if [ -e "$$d" ]; then echo "  KEEP    $$d (exists)"; \
		else echo "$(INSTALL) -m 0644 $$f $$d"; $(INSTALL) -m 0644 "$$f" "$$d"; fi; \
	done
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		journalctl --update-catalog; echo "run 'systemctl daemon-reload' to load the unit"; fi

# Leaves /etc/amirotd alone: it holds the operator's configuration.
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/amirotd" "$(DESTDIR)$(SYSTEMDUNITDIR)/amirotd.service" \
		"$(DESTDIR)$(CATALOGDIR)/amirotd.catalog" "$(DESTDIR)$(DOCDIR)/iam-policy.json" \
		$(foreach f,$(EXAMPLE_POLICIES),"$(DESTDIR)$(DOCDIR)/examples/$(notdir $(f))") \
		$(foreach p,$(MAN_PAGES),"$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p))"*)
	-rmdir "$(DESTDIR)$(DOCDIR)/examples" "$(DESTDIR)$(DOCDIR)"

# The packages build from a copy of the working tree's files (those git tracks or
# would track: no build directories), so that they contain what `make` builds. Their
# builds are make runs of their own: this one's variables (BUILD=...) stay out.
# RPM_TOP is absolute (rpmbuild wants it so) and has a space wherever the
# repository's folder has one: quoted everywhere.
DEB_ARCH := $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
DEB := $(BUILD)/amirotd_$(VERSION)_$(DEB_ARCH).deb
DEB_TREE := $(BUILD)/deb/amirotd-$(VERSION)
RPM_TOP := $(abspath $(BUILD)/rpm)
# Debian's rpm lacks Fedora's build dependencies and debugedit, and its
# brp-compress is a bash script under #!/bin/sh, which is dash there ("read:
# Illegal option -d"): the man pages would stay uncompressed.
RPMBUILD_FLAGS := $(if $(wildcard /etc/debian_version),--nodeps --define 'debug_package %{nil}' \
	--define '__brp_compress bash %{_rpmconfigdir}/brp-compress %{?_prefix}')

deb:
	@v=$$(dpkg-parsechangelog -l packaging/debian/changelog -S Version); [ "$$v" = "$(VERSION)" ] || \
		{ echo "packaging/debian/changelog is at $$v, the Makefile at $(VERSION)"; exit 1; }
	packaging/copy-tree "$(DEB_TREE)"
	cp -R packaging/debian "$(DEB_TREE)/debian"
	cd "$(DEB_TREE)" && MAKEFLAGS= MAKELEVEL= dpkg-buildpackage -us -uc -b
	lintian --fail-on error "$(BUILD)/deb/amirotd_$(VERSION)_$(DEB_ARCH).changes"
	cp "$(BUILD)/deb/amirotd_$(VERSION)_$(DEB_ARCH).deb" "$(DEB)"
	@echo "  DEB     $(DEB)"

# rpmbuild (4.18) splits a _topdir with a space in %autosetup, its %files globs and
# its unpackaged-files check, and the tree's path may have one: it runs in a private
# temporary folder, removed on every exit, and its results are copied to $(RPM_TOP).
# The package must hold compressed man pages, as every distribution's do.
rpm:
	@v=$$(sed -n 's/^Version: *//p' packaging/rpm/amirotd.spec); [ "$$v" = "$(VERSION)" ] || \
		{ echo "packaging/rpm/amirotd.spec is at $$v, the Makefile at $(VERSION)"; exit 1; }
	rm -rf "$(RPM_TOP)" && mkdir -p "$(RPM_TOP)"
	packaging/copy-tree "$(RPM_TOP)/tree/amirotd-$(VERSION)"
	tar -C "$(RPM_TOP)/tree" -czf "$(RPM_TOP)/amirotd-$(VERSION).tar.gz" amirotd-$(VERSION)
	@set -e; top=$$(mktemp -d -t amirotd-rpmbuild.XXXXXX); trap 'rm -rf "$$top"' EXIT; \
		case "$$top" in *[[:space:]]*) echo "rpm: the temporary folder '$$top' has a space: set TMPDIR"; exit 1;; esac; \
		mkdir "$$top/SOURCES"; cp "$(RPM_TOP)/amirotd-$(VERSION).tar.gz" "$$top/SOURCES/"; \
		echo "rpmbuild -bb --define '_topdir $$top' $(RPMBUILD_FLAGS) packaging/rpm/amirotd.spec"; \
		MAKEFLAGS= MAKELEVEL= rpmbuild -bb --define "_topdir $$top" $(RPMBUILD_FLAGS) packaging/rpm/amirotd.spec \
			>"$(RPM_TOP)/rpmbuild.log" 2>&1 || { tail -40 "$(RPM_TOP)/rpmbuild.log"; exit 1; }; \
		cp -R "$$top/RPMS" "$(RPM_TOP)/"
	rm -f "$(BUILD)"/amirotd-$(VERSION)-*.rpm
	cp "$(RPM_TOP)"/RPMS/*/amirotd-$(VERSION)-*.rpm "$(BUILD)/"
	@set -e; r=$$(ls "$(BUILD)"/amirotd-$(VERSION)-*.rpm); \
		man=$$(rpm -qlp "$$r" | grep '/man[0-9]/'); \
		if [ -z "$$man" ] || echo "$$man" | grep -qv '\.gz$$'; then \
			echo "$$r: man pages missing or not compressed:" $$man; exit 1; fi; \
		echo "  RPM     $$r"

# The unit file and the catalog, offline: verify, exposure score, MESSAGE_IDs.
check-unit-file: $(BUILD)/amirotd
	tests/systemd/check-unit-file "$(BUILD)/amirotd"

# Every example policy under config/ is documentation the package installs: each must load.
check-examples: $(BUILD)/amirotd
	$(Q)AWS_ACCESS_KEY_ID= AWS_PROFILE= "$(BUILD)/amirotd" check --config config/amirotd.yaml >/dev/null
	@echo "ok: config/amirotd.yaml and $(words $(EXAMPLE_POLICIES)) example policies load"

# IAM is AWS's to evaluate, not ec2sim's: the script checks the statements' shape and the
# conditions packaging/README.md's reasons rest on.
check-iam-policy:
	$(PYTHON) tests/packaging/check-iam-policy

# amirotd as a real service under a real systemd booted in namespaces (root only),
# installed by `make install` and from the .deb. See tests/systemd/run-test: where
# no systemd can be booted it says why and skips (AMIROTD_REQUIRE_SYSTEMD_TEST=1
# makes that a failure). Its choice of how, for each kind of host, is tested first.
check-systemd: $(BUILD)/amirotd
	$(PYTHON) -m pytest -q tests/systemd
	DEB_BUILD_OPTIONS=nocheck $(MAKE) --no-print-directory deb
	tests/systemd/run-test --build "$(BUILD)" --deb "$(DEB)"

# Build, package and test from a copy of the tree under a path with a space, owned
# by another user, next to a canary folder: nothing outside the tree may change.
check-space-path:
	tests/build/test-space-path

# Debian packages to build and test, checked against a minimal Debian 12 (the
# debian:12 image: Essential and required packages only); idempotent. Beyond the
# libraries and tools: procps (/bin/kill: the unit's ExecReload, and the systemd
# test), util-linux and mount (unshare, nsenter, mount), curl (the systemd test
# and the demo), man-db (systemd-analyze verify --man), file (rpmbuild's
# brp-strip), tzdata (the schedule tests' zones), python3-croniter (their cron
# oracle), python3-boto3 (make bench's peer script), gnuplot-nox (its chart), git (the packages' source list, the space-path
# test), prometheus (its promtool checks the metrics file,
# tests/integration/test_metrics.py; no smaller Debian 12 package ships
# promtool, and only promtool is used; on a host booted with systemd the package
# also enables prometheus.service: `systemctl disable --now prometheus` where
# that is not wanted).
DEB_PACKAGES := build-essential pkg-config libcurl4-openssl-dev libssl-dev libyaml-dev \
	libsystemd-dev libxml2-dev libjson-c-dev libcmocka-dev python3 python3-botocore \
	python3-pytest python3-pytest-xdist python3-croniter awscli valgrind clang libclang-rt-14-dev mandoc systemd curl \
	libnss-systemd util-linux mount procps man-db file tzdata git debhelper \
	dpkg-dev fakeroot lintian rpm prometheus python3-boto3 gnuplot-nox

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The packaging trees and the systemd test's scratch hold folders named *.d: not ours.
-include $(shell find "$(BUILD)" \( -path "$(BUILD)/deb" -o -path "$(BUILD)/rpm" -o -path "$(BUILD)/systemd-test" \) \
	-prune -o -name '*.d' -type f -print 2>/dev/null)
