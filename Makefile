# anomalydb: two commands on a fresh machine.
#   make run   builds and starts the server on 127.0.0.1:3306 with ./data
#   make test  vets and runs every test
export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
ADDR    ?= 127.0.0.1:3306
DATA    ?= ./data
BIN     := bin/anomalydb

.PHONY: build run test bench accuracy mutants clean

# Concurrency and crash tests of engine/ and storage/, run a second time
# under the race detector by make test.
RACE_TESTS ?= Concurren|Crash|Interleav|PowerLoss|Editor

build:
	$(GO) build -o $(BIN) ./cmd/anomalydb

run: build
	./$(BIN) serve --addr $(ADDR) --data-dir $(DATA) --examples testdata

test:
	./scripts/check_large_files.sh
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -timeout 20m -run '$(RACE_TESTS)' ./engine/ ./storage/

# Speed and memory: Go benchmarks with fixed seeds (not part of make test).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 -timeout 60m ./detectors/ ./engine/
	$(GO) test -tags purego -run '^$$' -bench 'ScoreDeepSVDDShuttle$$' -benchmem -count 3 ./detectors/

# Does the suite bite? Applies each one-line mutation of
# cmd/mutants/mutants.txt to a copy of the tree and runs the tests named
# for it; prints "N mutants, K killed" and fails unless all are killed.
mutants:
	$(GO) run ./cmd/mutants

clean:
	rm -rf bin

# Accuracy on the 14 labelled datasets in ../shared/datasets (ADBench
# protocol, seeds 0-2); writes docs/accuracy/<detector>.json and
# docs/accuracy.md. Takes up to an hour; not part of make test.
DATASETS ?= ../shared/datasets
accuracy:
	@for d in $$($(GO) run ./cmd/adbench -list); do \
		echo "== $$d"; \
		$(GO) run ./cmd/adbench -data $(DATASETS) -detectors $$d -json docs/accuracy/$$d.json || exit 1; \
	done
	$(GO) run ./cmd/adbench -report docs/accuracy.md
