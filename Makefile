# balancerd — build, test and run. `make demo` and `make test` work on a fresh
# Debian machine with Swift installed: both install missing system packages first.
SWIFT ?= swift
BUILD_FLAGS ?=
BIN = .build/debug/balancerd

.PHONY: all deps build release test demo check soak bench clean

all: build

# System libraries the build links against, and the tools the tests drive.
deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

release: deps
	$(SWIFT) build -c release $(BUILD_FLAGS)

# Builds the daemon first: end-to-end tests start it as a real process.
# Tests run one at a time: many start processes and block on sockets, and on two
# cores parallel tests would starve each other's timers (about 35 s in all).
test: build
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build --no-parallel $(BUILD_FLAGS)

# The embedded default: a throwaway cluster on loopback. Ctrl-C stops it.
demo: build
	$(BIN) demo

# Checks both shipped examples; the TLS one gets throwaway certificates in examples/certs first.
check: build
	test -f examples/certs/ca.pem || $(BIN) certs init --dir examples/certs
	test -f examples/certs/msua1.pem || $(BIN) certs issue msua1 -c examples/balancerd.yaml
	$(BIN) check -c examples/balancerd.yaml
	$(BIN) check -c examples/loopback.yaml

clean:
	rm -rf .build
