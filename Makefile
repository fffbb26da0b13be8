# Spillway — run `make help` for the targets.
GO      ?= go
PKGS    ?= ./...
# Every benchmark but BenchmarkSimLarge (600 M messages, ~10 minutes): `make bench BENCH=SimLarge` runs it.
BENCH   ?= Benchmark(Store|Spill|Restore|SimScaleIn|Engine|Sweep|Footprint)
BENCHTIME ?= 1x
FUZZTIME ?= 10s
# FuzzStoreOps (the model-checked store) gets its own, longer budget.
STOREFUZZTIME ?= 30s

.PHONY: golden help test test-short race vet fmt bench fuzz report calibrate swarm clean build
OUT ?= out

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-11s %s\n", $$1, $$2}'

report: build ## run every shipped scenario (embedded miniredis, nothing to install); reports in out/
	./bin/spillway run -out $(OUT) $$(./bin/spillway list -names)
	@echo "reports: $$(ls -d $(OUT)/*/report.md | tr '\n' ' ')"

golden: ## run every shipped scenario and compare with its golden summary (GOLDEN_FLAGS=-update to rewrite)
	$(GO) test -count=1 -run TestGoldenSummaries ./sim $(GOLDEN_FLAGS)

swarm: build ## randomized fault schedules against the real core, invariants checked (SEEDS=N, default 200; BUDGET=D, default 5m: whichever ends first)
	./bin/spillway swarm -seeds $(or $(SEEDS),200) -budget $(or $(BUDGET),5m)

# The version spillway merge compares across shards (spillway run -shard): git describe, else the build's own.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null)

build: ## build bin/spillway
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/spillway ./cmd/spillway

test: fmt vet ## gofmt + go vet + every test under -race + the golden summaries (real-Redis tests run when redis-server is on PATH)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)
	@# The golden summaries, the sampling validation, the fidelity replay and the bgsave-fork-oom regression build without -race (the race detector makes the shipped library too slow to run).
	$(GO) test -count=1 -run 'TestGoldenSummaries|TestSampledMatchesExact|TestFidelity' ./sim
	$(GO) test -count=1 -run TestUncappedBGSaveOOMRegression ./reports
	@command -v redis-server >/dev/null || echo "NOTE: redis-server not on PATH: the real-Redis and Redis Cluster tests were skipped (install redis-server to run them)."

test-short: ## quick tests without -race
	$(GO) test -count=1 -short $(PKGS)

vet: ## go vet
	$(GO) vet $(PKGS)

fmt: ## fail if any file is not gofmt-clean
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench: ## benchmarks in bench/ (BENCH=regexp BENCHTIME=1x|5s)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./bench/

fuzz: ## run every fuzz target for FUZZTIME each (FuzzStoreOps: STOREFUZZTIME, default 30s)
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./core/
	$(GO) test -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime $(FUZZTIME) ./core/
	$(GO) test -run '^$$' -fuzz '^FuzzStoreOps$$' -fuzztime $(STOREFUZZTIME) ./core/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./scenarios/
	$(GO) test -run '^$$' -fuzz '^FuzzContextSeq$$' -fuzztime $(FUZZTIME) ./sim/workload/

calibrate: ## measure a real redis-server (started on a free port): rewrite the model constants and the fidelity suite
	$(GO) run ./cmd/calibrate -out sim/calibration/calibration.json -fidelity sim/calibration/fidelity.json

clean: ## remove generated output
	rm -rf out/ bin/
