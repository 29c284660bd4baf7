# downtime: ping exporter, alert rules and an Alertmanager-to-Telegram receiver.
#
#   make demo    install what is missing, build, run the whole pipeline on loopback
#   make test    install what is missing, run every test (unit, race, real ICMP,
#                rules, config checks, fuzz smoke, end-to-end), against both
#                Prometheus 2.42 + Alertmanager 0.25 (Debian) and the pinned
#                Prometheus 3 + Alertmanager 0.31 (deploy/versions.env)
#   make lint    gofmt, go vet, staticcheck
#   make bench   exporter CPU/RSS side by side with smokeping_prober

# Pinned Prometheus 3 and Alertmanager versions, built into $(TOOLS) by
# `make deps` (deploy/install-deps.sh); the e2e test finds them there too.
include deploy/versions.env

SHELL         := /bin/bash
GO            ?= go
BIN           ?= bin
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME      ?= 5000x
FUZZMINTIME   ?= 200x
PROMTOOL      ?= promtool
AMTOOL        ?= amtool
TOOLS         ?= $(CURDIR)/.tools
PROMTOOL3     ?= $(TOOLS)/prometheus-$(PROMETHEUS3_VERSION)/promtool
AMTOOL_NEW    ?= $(TOOLS)/alertmanager-$(ALERTMANAGER_NEW_VERSION)/amtool
MODULE        := github.com/downtime-detector/downtime
export DOWNTIME_TOOLS := $(TOOLS)
HOSTS         ?=
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
REVISION      ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
VERSION_PKG   := github.com/prometheus/common/version
LDFLAGS       := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
                 -X $(VERSION_PKG).Branch=main -X $(VERSION_PKG).BuildUser=$(shell id -un)@$(shell hostname) \
                 -X $(VERSION_PKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: all build deps test gotest rules-test config-check fuzz lint bench demo clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/downtime_exporter ./exporter
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/downtime_receiver ./receiver

# Debian packages the tests and the demo need (prometheus, alertmanager,
# nftables, iproute2, postgresql, chromium) and the pinned Prometheus 3 /
# Alertmanager built with go install into $(TOOLS). Installs only what is missing.
deps:
	@bash deploy/install-deps.sh

test: deps build gotest rules-test config-check fuzz

# go test -json through a filter that prints a line per finished top-level
# test, skip reasons, failed tests' output and go test's ok/FAIL package
# lines as they happen; pipefail keeps go test's exit status.
gotest:
	set -o pipefail; $(GO) test -race -count=1 -timeout 20m -json ./... | \
		$(GO) run ./internal/testprogress -trim $(MODULE)/

# rules/tests/*.yml run on both promtools; rules/tests/v3/*.yml use the
# native histogram series notation, which only promtool 3 reads.
rules-test:
	$(PROMTOOL) check rules rules/*.rules.yml
	$(PROMTOOL) test rules rules/tests/*.yml
	$(PROMTOOL3) check rules rules/*.rules.yml
	$(PROMTOOL3) test rules rules/tests/*.yml rules/tests/v3/*.yml

config-check:
	$(PROMTOOL) check config deploy/prometheus/prometheus.yml
	$(PROMTOOL3) check config deploy/prometheus/prometheus.yml
	$(AMTOOL) check-config deploy/alertmanager/alertmanager.yml
	$(AMTOOL_NEW) check-config deploy/alertmanager/alertmanager.yml

# Short fuzz runs of the receiver's payload decoder, renderer and incident API
# query parser; the corpora under testdata/fuzz are replayed by `go test` as
# regular tests too. FUZZTIME is a count, not a duration: with Go 1.26 a
# duration can end in a spurious "context deadline exceeded" failure on a
# loaded machine (golang/go#75804, fixed in Go 1.27). FUZZMINTIME bounds the
# minimisation of each new input (60 s by default, which stalled a run).
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINTIME) ./receiver/webhook
	$(GO) test -run='^$$' -fuzz='^FuzzRender$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINTIME) ./receiver/render
	$(GO) test -run='^$$' -fuzz='^FuzzParseQuery$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINTIME) ./receiver/statuspage

lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: deps build
	bash exporter/bench/bench.sh

demo: deps build
	bash deploy/demo.sh $(HOSTS)

clean:
	rm -rf $(BIN)
