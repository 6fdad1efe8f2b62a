# rtcell — see README.md. `make run` and `make test` do all the set-up.
GO        ?= go
BIN       := bin
CMDS      := sysprep runner
STATICCHECK_VERSION := v0.8.2
export CGO_ENABLED := 0
GOFLAGS_BUILD := -trimpath -buildvcs=true -ldflags='-s -w'

.PHONY: all build test deps unit race bench lint cross setcap run clean vmtest fixtures-rt

# Debian packages the tests use: cyclictest, stress-ng, strace, setcap and
# getcap, cmark-gfm; chromium and poppler-utils (the report rendered and printed in
# a real browser); prometheus (promtool and the scrape test); systemd (systemd-analyze scores the unit) and diffutils
# (diff -r after a rollback); gcc and libc6-dev for the race detector (it needs
# cgo); QEMU, a static busybox and xz for the PREEMPT_RT guest (vmtest).
DEPS     := rt-tests stress-ng strace libcap2-bin cmark-gfm gcc libc6-dev systemd diffutils chromium poppler-utils prometheus
DEPS_VM  := qemu-system-x86 busybox-static xz-utils
# Packages whose tests mean something under the race detector.
RACE_PKGS := ./rt ./rt/shm ./rt/stats ./rt/metrics ./rt/cpulist ./rt/internal/cpulease ./rt/rttest ./rt/child ./rt/load ./rt/trace \
	./runner/config ./runner/report ./sysprep/... ./examples/sensorgw

all: build

## build: static binaries of the commands and examples into bin/
build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./sysprep/cmd/sysprep ./runner/cmd/runner ./examples/...

## test: the whole suite, as CI runs it (root tests run when root): packages
## first, then build, unit tests, race detector, lint, and the QEMU tests
test:
	$(MAKE) deps
	$(MAKE) build
	$(MAKE) unit
	$(MAKE) race
	$(MAKE) lint
	$(MAKE) vmtest

## deps: install the Debian packages the tests use (as root; does nothing when all are installed)
deps:
	@if ! command -v dpkg-query >/dev/null; then \
		echo "deps: no dpkg-query (not Debian): install $(DEPS) $(DEPS_VM) yourself, or the tests that need them skip"; exit 0; fi; \
	missing=; for p in $(DEPS); do \
		[ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || missing="$$missing $$p"; done; \
	missing_vm=; for p in $(DEPS_VM); do \
		[ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || missing_vm="$$missing_vm $$p"; done; \
	if [ -z "$$missing$$missing_vm" ]; then echo "deps: all installed"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "deps: missing$$missing$$missing_vm; run \`sudo make deps\` to install them, or the tests that need them skip"; \
		[ "$$CI" != true ] || exit 1; exit 0; fi; \
	set -e; export DEBIAN_FRONTEND=noninteractive; \
	echo "deps: installing$$missing$$missing_vm"; \
	apt-get update -qq; \
	[ -z "$$missing" ] || apt-get install -y -qq $$missing >/dev/null; \
	[ -z "$$missing_vm" ] || apt-get install -y -qq --no-install-recommends $$missing_vm >/dev/null

## unit: go vet and every package's tests; RT tests take turns on each CPU (rttest.LeaseCPU)
unit:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

## race: the race detector on the packages with concurrent code (needs cgo and gcc)
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)

## vmtest: boot Debian's PREEMPT_RT kernel under QEMU and check sysprep, the runner and the
## trace analysis on it (one package at a time: each boots guests that load both CPUs)
vmtest:
	$(GO) test -tags vmtest -p 1 -count=1 -v -timeout 15m ./rt/vmtest/... ./rt/trace

## fixtures-rt: recapture sysprep/testdata/rt-{good,noiso} from the RT kernel (not in CI)
fixtures-rt:
	$(GO) test -tags vmtest -count=1 -v -timeout 15m -run TestCaptureFixtures ./rt/vmtest/ -capture

## bench: the benchmarks whose figures README quotes
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./...

## lint: gofmt, go vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## cross: build everything for linux/arm64 and linux/arm (GOARM=7)
cross:
	GOOS=linux GOARCH=arm64 $(GO) build -o /dev/null ./...
	GOOS=linux GOARCH=arm GOARM=7 $(GO) build -o /dev/null ./...
	@mkdir -p $(BIN)/linux-arm64 $(BIN)/linux-arm
	GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/linux-arm64/ ./sysprep/cmd/sysprep ./runner/cmd/runner ./examples/...
	GOOS=linux GOARCH=arm GOARM=7 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/linux-arm/ ./sysprep/cmd/sysprep ./runner/cmd/runner ./examples/...

## setcap: let bin/* set SCHED_FIFO and lock memory without root
# One setcap per file: libcap's setcap takes CAPS FILE, and a second file
# on the same line is read as another capability set (libcap 2.66).
SETCAP_BINS ?= $(BIN)/runner $(BIN)/minimal $(BIN)/plc $(BIN)/sensorgw
setcap: build
	@for b in $(SETCAP_BINS); do \
		echo "setcap cap_sys_nice,cap_ipc_lock+ep $$b"; \
		setcap cap_sys_nice,cap_ipc_lock+ep "$$b" || exit 1; \
	done

## run: the commissioning checklist, then the default config (as root, or after `make setcap`)
run: build
	-$(BIN)/sysprep --config configs/default.toml
	@# exit 1 means deadline violations: a finding, not a failure of make
	$(BIN)/runner run configs/default.toml || [ $$? -eq 1 ]

clean:
	rm -rf $(BIN) out
