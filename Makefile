# logcollect — the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/logcollect
# logcollect-agent: the same main package with the tag agentonly, the host's commands only
# (cmd/logcollect/main.go says why).
AGENT_BIN := bin/logcollect-agent
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Packages holding integration tests (build tag `integration`), found rather than listed
# so a new one is never forgotten.
INTEGRATION_PKGS = $(shell grep -rl --include='*_test.go' '^//go:build integration' . | xargs -r -n1 dirname | sort -u)

.PHONY: all build run test unit fuzz integration lint fmt-check vet staticcheck tidy-check bench \
	services-up services-down services-status clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/logcollect
	$(GO) build -tags agentonly -ldflags "$(LDFLAGS)" -o $(AGENT_BIN) ./cmd/logcollect

## run: the standalone system on this machine (see README)
run: build
	@scripts/run-demo.sh $(BIN)

## test: format, vet, staticcheck, unit tests with -race, then integration tests against
## the real Kafka, etcd, OpenSearch and InfluxDB (started here when not running).
test: lint unit fuzz integration ui-test install-test

lint: fmt-check vet staticcheck tidy-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi; echo "gofmt: ok"

vet:
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) vet -tags agentonly ./cmd/...

staticcheck:
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags integration ./...
	$(GO) tool staticcheck -tags agentonly ./cmd/...

## tidy-check: fails when `go mod tidy` would change go.mod or go.sum (prints the diff).
tidy-check:
	@$(GO) mod tidy -diff || { echo "go mod tidy would change go.mod/go.sum (diff above): run go mod tidy"; exit 1; }; echo "go mod tidy: ok"

unit:
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -race -count=1 -tags agentonly ./cmd/...

## fuzz: each fuzz target for its number of inputs (their seeds already run in unit).
## Counts, not durations: Go 1.26's coordinator can report a bare "context deadline
## exceeded" when -fuzztime ends while a worker is mid-input on a loaded machine
## (golang/go#75804, fixed in 1.27); a count has no deadline to race. About 10 s each
## here. A short minimizing budget: minimizing an 18 KB seed against the store otherwise
## takes the minute.
FUZZ_TARGETS = ./internal/search/query:FuzzParse:300000x ./internal/search/api:FuzzParams:5000x ./internal/search/opensearchstore:FuzzSource:20000x ./internal/search/opensearchstore:FuzzReadAnswer:50000x ./internal/jsontext:FuzzAppendString:50000x ./internal/logformat:FuzzCombined:100000x ./internal/search/query:FuzzDigitPhrase:100000x ./internal/search/query:FuzzEachWord:100000x ./internal/search/store/sqlitestore:FuzzBlockWords:20000x ./internal/search/store/sqlitestore:FuzzPairFilter:20000x ./internal/kafka:FuzzParseMeta:50000x
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; \
		$(GO) test -count=1 -run '^$$' -fuzz "^$${rest%%:*}\$$" -fuzztime=$${rest#*:} -fuzzminimizetime=200x $$pkg || exit 1; \
	done

# -p 1: one integration package at a time. Run side by side on two cores, the 3-broker
# cluster test starved the Kafka sink's outage test of CPU (100,000 records not consumed in
# 60 s, 10 s alone).
integration: services-up
	$(GO) test -race -count=1 -p 1 -timeout 30m -tags integration $(INTEGRATION_PKGS)

## ui-test: the web UI's client unit tests, then its browser test against a real standalone
.PHONY: ui-test
ui-test:
	@scripts/ui-test.sh

## package: .deb and .rpm for amd64 and arm64 in dist/ (nfpm, static binaries; packaging/README.md)
.PHONY: package package-test image image-test k8s-test install-test
package:
	@packaging/build.sh

## install-test: the package installs, verifies and purges; the image runs; the manifests decode
install-test: package-test image-test k8s-test

package-test: package
	@packaging/test.sh

## image: the container image logcollect:$(VERSION) with buildah (packaging/Containerfile)
image:
	@packaging/image.sh build

image-test:
	@packaging/image.sh test

k8s-test: build
	cd deploy/kubernetes && LOGCOLLECT_BIN=$(CURDIR)/$(BIN) LOGCOLLECT_AGENT_BIN=$(CURDIR)/$(AGENT_BIN) $(GO) test -count=1 ./...

## bench: benchmarks as a table (numbers go to docs/benchmarks.md)
bench: build services-up
	@scripts/bench.sh

services-up:
	@scripts/services.sh up

services-down:
	@scripts/services.sh down

services-status:
	@scripts/services.sh status

clean:
	rm -rf bin data
