# rtcell — see README.md. `make run` and `make test` do all the set-up.
GO        ?= go
BIN       := bin
CMDS      := sysprep runner
STATICCHECK_VERSION := v0.8.2
export CGO_ENABLED := 0
GOFLAGS_BUILD := -trimpath -ldflags='-s -w'

.PHONY: all build test unit bench lint cross setcap run clean vmtest fixtures-rt

all: build

## build: static binaries of the commands and examples into bin/
build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./sysprep/cmd/sysprep ./runner/cmd/runner ./examples/...

## test: the whole suite, as CI runs it (root tests run when root), then the QEMU tests
test: build unit vmtest

unit:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

## vmtest: boot Debian's PREEMPT_RT kernel under QEMU and check sysprep and the runner on it
vmtest:
	$(GO) test -tags vmtest -count=1 -v -timeout 15m ./rt/vmtest/...

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
