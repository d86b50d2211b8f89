# wapt — build, test and run. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin
DATA ?= ./data
LISTEN ?= 127.0.0.1:8080

# Pure-Go binaries: always CGO_ENABLED=0 so they cross-compile and run anywhere.
PURE_CMDS := ./server/cmd/waptserver ./agent/cmd/wapt-get ./agent/cmd/waptagent ./server/cmd/waptloadgen
CROSS_TARGETS := windows/amd64 darwin/arm64 linux/amd64
# The console is a cgo binary (Fyne, OpenGL): never in PURE_CMDS nor cross-built.
CONSOLE_CMD := ./console/cmd/waptconsole
GUI_PKGCONFIG := gl x11 xcursor xrandr xinerama xi xxf86vm

.PHONY: help deps deps-all build build-cli console screenshot screenshot-selfservice test bench lint cross run clean fuzz loadgen loadgen-sessions

help:
	@echo "make run    build; demo repository in $(DATA); waptserver on http://$(LISTEN) and two waptagent services; an upgrade action brings them to OK"
	@echo "make test   install missing system packages (root only), lint, run every test"
	@echo "make build  build the binaries into $(BIN)/ (waptconsole too when the GUI libraries are installed)"
	@echo "make console  build $(BIN)/waptconsole (cgo + Fyne; about 4.5 min the first time)"
	@echo "make screenshot  run the console under Xvfb against a server with simulated hosts; save docs/screenshot-hosts.png"
	@echo "make screenshot-selfservice  run wapt-selfservice under Xvfb against a demo agent; save docs/screenshot-selfservice.png"
	@echo "make bench  run the benchmarks (1 GiB package, 2,000-package index, resolution, agent update and DB, server ingest and queries, actions, inventory, PKCS#11)"
	@echo "make cross  cross-build the pure-Go binaries for $(CROSS_TARGETS)"
	@echo "make lint   gofmt + go vet"
	@echo "make fuzz   run each fuzz target for FUZZTIME (default 30s)"
	@echo "make loadgen  load an in-process server: LOAD_HOSTS hosts post LOAD_RATE status reports/s for LOAD_DURATION"
	@echo "make loadgen-sessions  SESSIONS websocket sessions on a separate waptserver process, an action fanned out to FANOUT of them"

deps:
	@packaging/install-deps.sh base

# What the tests need: the GUI (Fyne, systray, Xvfb) and SoftHSM2 packages too.
deps-all:
	@packaging/install-deps.sh all

# The packages vetted and tested: all, less the cgo GUI ones (Fyne, systray)
# when their system libraries are missing (packaging/install-deps.sh gui).
GUI_PKGS := /console/ui|/console/cmd/|/tray/selfservice|/tray/cmd/wapttray
TEST_PKGS = $$(if pkg-config --exists $(GUI_PKGCONFIG) ayatana-appindicator3-0.1 2>/dev/null; then $(GO) list ./...; \
	else echo "GUI libraries missing (packaging/install-deps.sh gui): Fyne and systray packages not built" >&2; \
	$(GO) list ./... | grep -Ev '$(GUI_PKGS)'; fi)

build: build-cli
	@if command -v gcc >/dev/null && pkg-config --exists $(GUI_PKGCONFIG) 2>/dev/null; then \
	  $(MAKE) --no-print-directory console; \
	else echo "build: $(BIN)/waptconsole skipped: it needs gcc and the GUI libraries (packaging/install-deps.sh gui)"; fi

# The pure-Go binaries only: what `make run` needs.
build-cli:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ $(PURE_CMDS)

console:
	@mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -trimpath -o $(BIN)/ $(CONSOLE_CMD)

screenshot: build
	packaging/screenshot.sh $(BIN) docs/screenshot-hosts.png

# The self-service window (cgo + Fyne, built by the script) against demo-agent-1 of the demo.
screenshot-selfservice: build
	packaging/screenshot-selfservice.sh $(BIN) docs/screenshot-selfservice.png

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(TEST_PKGS)

test: deps-all lint
	$(GO) test -count=1 $(TEST_PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -benchmem ./shared/pkgfile
	$(GO) test -run '^$$' -bench . -benchtime 3x -benchmem ./shared/repoindex
	$(GO) test -run '^$$' -bench . -benchmem ./shared/resolve ./agent/fetch ./agent/store
	$(GO) test -run '^$$' -bench . -benchtime 20x -benchmem ./server/repository
	$(GO) test -run '^$$' -bench . -benchmem ./server/inventory ./server/store
	$(GO) test -run '^$$' -bench . -benchmem ./shared/action ./agent/inventory ./console/pkcs11

FUZZTIME ?= 30s
fuzz:
	@for t in shared/version:FuzzParse shared/version:FuzzParseRequest shared/control:FuzzParse \
	          shared/repoindex:FuzzParse shared/pkgfile:FuzzOpen shared/signing:FuzzCanonicalJSONString \
	          shared/action:FuzzParse agent/inventory:FuzzParseDpkg agent/inventory:FuzzParseRpm \
	          agent/inventory:FuzzParsePlist agent/inventory:FuzzParseWmicOrCim; do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "== $$pkg $$fn"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./$$pkg || exit 1; done

LOAD_HOSTS ?= 2000
LOAD_RATE ?= 2000
LOAD_DURATION ?= 20s
loadgen:
	$(GO) run ./server/cmd/waptloadgen --self --hosts $(LOAD_HOSTS) --rate $(LOAD_RATE) --duration $(LOAD_DURATION)

# Needs SESSIONS + 512 open files per process (RLIMIT_NOFILE; waptloadgen
# raises the soft limit to the hard one, and the hard one too as root with
# CAP_SYS_RESOURCE).
SESSIONS ?= 50000
FANOUT ?= 10000
loadgen-sessions:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./server/cmd/waptserver ./server/cmd/waptloadgen
	$(BIN)/waptloadgen --sessions $(SESSIONS) --fanout $(FANOUT) --spawn-server $(BIN)/waptserver

cross:
	@set -e; for t in $(CROSS_TARGETS); do \
	  os=$${t%/*}; arch=$${t#*/}; echo "== $$os/$$arch"; \
	  mkdir -p $(BIN)/$$os-$$arch; \
	  GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/$$os-$$arch/ $(PURE_CMDS); \
	done

run: deps build-cli
	packaging/demo-run.sh $(BIN) $(DATA) $(LISTEN)

clean:
	rm -rf $(BIN)
