# balancerd — build, test and run. `make demo` and `make test` work on a fresh
# Debian machine with Swift installed: both install missing system packages first.
SWIFT ?= swift
BUILD_FLAGS ?=
BIN = .build/debug/balancerd
# The fault suite and the keepalived test use fixed namespace names and iptables
# rules: on a machine shared by several checkouts, one run of each at a time (the
# next waits for it).
ONE_AT_A_TIME = flock -w 3600 /run/lock/balancerd

.PHONY: all deps test-deps build release test copyright rules faults ha soak sanitize fuzz fuzz-build demo check clean deb man package-test reproducible boot-test flake-rounds

all: build

# System libraries the build links against (all that `make demo` needs).
deps:
	@./scripts/install-deps.sh

# The tools the tests drive: promtool, Chromium, the fault suite's, and a Python
# virtual environment under .build/ for the OpenAPI check.
test-deps:
	@./scripts/install-test-deps.sh

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

release: deps
	$(SWIFT) build -c release $(BUILD_FLAGS)

# Builds the daemon first: end-to-end tests start it as a real process.
# Tests run one at a time: many start processes and block on sockets, and on two
# cores parallel tests would starve each other's timers (about 50 s in all).
# Then the copyright file against the resolved packages, the fault suite in its
# short form (each fault twice, about 2 minutes), the keepalived move once per
# fault (Tests/ha, about 25 s), the package's (both units verified; as root, the
# install test: about a minute with the release build done, five more without),
# and two packagings of that build compared byte for byte.
# CI (.ci/run) runs `make boot-test` after this.
test: build test-deps
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build --no-parallel $(BUILD_FLAGS)
	$(MAKE) --no-print-directory copyright
	$(MAKE) --no-print-directory rules
	$(MAKE) --no-print-directory faults
	$(MAKE) --no-print-directory ha
	$(MAKE) --no-print-directory package-test
	$(MAKE) --no-print-directory reproducible

# dist/debian/copyright names every Swift package the build resolved, at its
# version, with its licence and NOTICE (Tests/package/copyright-test.sh).
copyright: build
	./Tests/package/copyright-test.sh

# The shipped Prometheus alerting rules: their syntax, then a unit test of every alert.
rules: test-deps
	promtool check rules dist/prometheus/balancerd.rules.yml
	cd dist/prometheus && promtool test rules balancerd.rules.test.yml

# Network namespaces, cut links, killed and frozen processes, reloads, slow and
# malformed HTTP clients, all while /login is under load (Tests/faults/faults.py).
FAULT_TRIES ?= 2
faults: build test-deps
	$(ONE_AT_A_TIME)-faults.lock python3 Tests/faults/faults.py --tries $(FAULT_TRIES)

# Two serve instances behind one address moved by keepalived (dist/keepalived),
# in network namespaces: the active one killed, frozen, its keepalived stopped
# (Tests/ha/ha.py). make test: each once (about 25 s); make soak: 10 times each.
HA_TRIES ?= 1
ha: build test-deps
	$(ONE_AT_A_TIME)-ha.lock python3 Tests/ha/ha.py --tries $(HA_TRIES)

# The long form: 1,000,000 inputs per seeded fuzzer, a minute per coverage-guided
# fuzz target (and as long again seeded-random), every fault 10 times (medians
# for RELIABILITY.md), the keepalived move 10 times per fault, and 1,000 peers
# polled by one daemon. About an hour.
soak: build test-deps
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	BALANCERD_FUZZ_ITERATIONS=1000000 $(SWIFT) test --skip-build --no-parallel --filter 'Fuzz|fuzz' $(BUILD_FLAGS)
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=60
	$(ONE_AT_A_TIME)-faults.lock python3 Tests/faults/faults.py --tries 10 --report .build/faults-report.md
	$(ONE_AT_A_TIME)-ha.lock python3 Tests/ha/ha.py --tries 10 --report .build/ha-report.md
	Benchmarks/poll/run.sh 1000

# Coverage-guided fuzzing with libFuzzer and AddressSanitizer (Fuzz/, RELIABILITY.md):
# each target FUZZ_SECONDS coverage-guided, then as long seeded-random for the
# comparison; a crash or broken invariant fails it. Its own build folder and
# manifest switch (BALANCERD_FUZZ), so `swift build` and `swift test` never
# compile the libFuzzer binary; `make test` replays the corpora (FuzzCorpusTests).
FUZZ_SECONDS ?= 20
fuzz-build: deps
	BALANCERD_FUZZ=1 $(SWIFT) build --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address --product balancerd-fuzz

fuzz: fuzz-build
	./scripts/fuzz.sh $(FUZZ_SECONDS)

# The whole test suite under AddressSanitizer, then ThreadSanitizer (own build folders).
# A memory error or a race fails it; leaks at exit are printed but do not (objects
# still alive when a process ends, and the toolchain's own: see RELIABILITY.md).
sanitize: deps test-deps
	$(SWIFT) build --build-tests -Xswiftc -sanitize=address --build-path .build-asan
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/lsan.supp:exitcode=0 $(SWIFT) test --skip-build --no-parallel --build-path .build-asan
	$(SWIFT) build --build-tests -Xswiftc -sanitize=thread --build-path .build-tsan
	$(SWIFT) test --skip-build --no-parallel --build-path .build-tsan

# The embedded default: a throwaway cluster on loopback. Ctrl-C stops it.
demo: build
	$(BIN) demo

# Checks both shipped examples; the TLS one gets throwaway certificates in examples/certs first.
check: build
	test -f examples/certs/ca.pem || $(BIN) certs init --dir examples/certs
	test -f examples/certs/msua1.pem || $(BIN) certs issue msua1 -c examples/balancerd.yaml
	$(BIN) check -c examples/balancerd.yaml
	$(BIN) check -c examples/loopback.yaml

# The Debian package balancerd_<version>_amd64.deb, from a release build with the
# Swift runtime linked in (.build-deb), so it runs where Swift is not installed.
deb: deps
	./scripts/build-deb.sh

# The man pages, generated from the command-line definitions into .build-deb/man.
man: deps
	./scripts/make-man.sh

# systemd-analyze verify of both units (when systemd-analyze exists); as root,
# the install test: builds and installs the package, runs it as the balancerd
# user, purges it (Tests/package/install-test.sh); then the system calls and
# socket families balancerd uses, under strace, against the units' filters.
package-test: build
	./Tests/package/verify-units.sh $(BIN)
	./Tests/package/install-test.sh
	./Tests/package/syscalls.sh

# Two packagings of the release build give the same .deb byte for byte; with
# BINARY=1 also a second release build from scratch in a clone at another path.
reproducible: deps
	./Tests/package/reproducible.sh

# The package on three Debian machines booted with their own systemd, without
# Swift, in network namespaces (Tests/boot/boot-test.sh; as root). The minimal
# Debian tree is cached in .build-boot (BOOT_TEST_CACHE): about a minute with it
# and the release build done, 1 to 3 more to make the tree. Not part of `make
# test`: it needs root, systemd-container and, the first time, the Debian mirror
# of /etc/apt (debootstrap, about 100 MB); CI runs it after `make test`.
boot-test: deps
	./Tests/boot/boot-test.sh

# Is the suite flaky? CI's run 5 times from fresh clones and the Swift tests 20
# times while another build loads the machine, every run reported, a hang's
# threads printed (Tests/flake-rounds.sh; hours: about 20 minutes a CI run).
flake-rounds:
	./Tests/flake-rounds.sh

clean:
	rm -rf .build
