# anomalydb: two commands on a fresh machine.
#   make run   builds and starts the server on 127.0.0.1:3306 with ./data
#   make test  vets and runs every test
export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
ADDR    ?= 127.0.0.1:3306
DATA    ?= ./data
BIN     := bin/anomalydb

.PHONY: build run test bench accuracy mutants fuzz clean

# Concurrency and crash tests of engine/ and storage/, run a second time
# under the race detector by make test.
RACE_TESTS ?= Concurren|Crash|Interleav|Editor|Transaction|Conflict|AppendIf|CommitTables|MultiTable|GroupCommit|WhileInserting
# Crash tests whose every statement runs in the real binary (not built
# with -race): the rerun would only slow make test down.
RACE_SKIP ?= TestCrashDuringLoadData|TestCrashDuringAlterTable|TestCrashDuringGroupCommit|TestCrashDuringUpdateDelete|TestCrashDuringCreateDetector

build:
	$(GO) build -o $(BIN) ./cmd/anomalydb

run: build
	./$(BIN) serve --addr $(ADDR) --data-dir $(DATA) --examples testdata

test: clients-deps
	./scripts/check_large_files.sh
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -timeout 20m -run '$(RACE_TESTS)' -skip '$(RACE_SKIP)' ./engine/ ./storage/

# Speed and memory: Go benchmarks with fixed seeds (not part of make test).
bench:
	$(GO) test -run '^$$' -bench . -skip 'BenchmarkScale' -benchmem -count 3 -timeout 60m ./detectors/ ./engine/
	$(GO) test -tags purego -run '^$$' -bench 'ScoreDeepSVDDShuttle$$' -benchmem -count 3 ./detectors/
	# 1M and 10M rows side by side, once (ANOMALYDB_SCALE_ROWS overrides).
	$(GO) test -run '^$$' -bench 'BenchmarkScale' -benchtime 1x -timeout 120m ./engine/

# Does the suite bite? Applies each one-line mutation of
# cmd/mutants/mutants.txt to a copy of the tree and runs the tests named
# for it; prints "N mutants, K killed" and fails unless all are killed.
mutants:
	$(GO) run ./cmd/mutants

# Fuzzing: every Fuzz function of the tests in turn, FUZZTIME each, one
# worker (make test runs only their seeds and testdata/fuzz inputs). A
# failing input is written to <package>/testdata/fuzz/<FuzzName>/.
FUZZTIME ?= 60s
fuzz:
	@for f in $$(grep -l '^func Fuzz' */*_test.go); do \
		for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$fn ($$(dirname $$f), $(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s -parallel 1 ./$$(dirname $$f)/ || exit 1; \
		done; \
	done

clean:
	rm -rf bin

# Accuracy on the 14 labelled datasets in ../shared/datasets (ADBench
# protocol, seeds 0-2); writes docs/accuracy/<detector>.json (and
# devnet_1pct.json and prenet_1pct.json: devnet and prenet with 1 % of
# the anomalies labelled), the same
# on the six categorical tables with the isolation-forest baseline
# (docs/accuracy/categorical/; with learned embeddings for the detectors
# of EMBEDDED, docs/accuracy/categorical_embedding/), mil_ranking on bags of 16 rows next to an
# autoencoder of its widths (docs/accuracy/bags/), the sequence detectors
# on ../shared/datasets/sequences (NAB, HDFS; seeds 0-2;
# docs/accuracy/sequences/sequences.json), and docs/accuracy.md. Takes a
# few hours on 2 cores; not part of make test.
DATASETS ?= ../shared/datasets
# Detectors also measured with categorical = 'embedding' on the
# categorical tables (docs/accuracy/categorical_embedding/).
EMBEDDED ?= autoencoder vae ae_1svm randnet deep_svdd deep_sad devnet
accuracy:
	@for d in $$($(GO) run ./cmd/adbench -list); do \
		echo "== $$d"; \
		$(GO) run ./cmd/adbench -data $(DATASETS) -detectors $$d -json docs/accuracy/$$d.json || exit 1; \
	done
	$(GO) run ./cmd/adbench -data $(DATASETS) -detectors devnet -labelled 0.01 -json docs/accuracy/devnet_1pct.json
	$(GO) run ./cmd/adbench -data $(DATASETS) -detectors prenet -labelled 0.01 -json docs/accuracy/prenet_1pct.json
	@for d in iforest $$($(GO) run ./cmd/adbench -list -categorical); do \
		echo "== $$d (categorical)"; \
		$(GO) run ./cmd/adbench -categorical -data $(DATASETS)/categorical -detectors $$d -json docs/accuracy/categorical/$$d.json || exit 1; \
	done
	@for d in $(EMBEDDED); do \
		echo "== $$d (categorical, embedding)"; \
		$(GO) run ./cmd/adbench -categorical -data $(DATASETS)/categorical -detectors $$d -opts 'categorical=embedding' -json docs/accuracy/categorical_embedding/$$d.json || exit 1; \
	done
	$(GO) run ./cmd/adbench -data $(DATASETS) -bags 16 -detectors mil_ranking -json docs/accuracy/bags/mil_ranking.json
	$(GO) run ./cmd/adbench -data $(DATASETS) -bags 16 -detectors autoencoder -opts 'hidden=64,32' -json docs/accuracy/bags/autoencoder.json
	$(GO) run ./cmd/adbench -sequences -data $(DATASETS)/sequences -json docs/accuracy/sequences/sequences.json
	$(GO) run ./cmd/adbench -report docs/accuracy.md

# Clients of the compatibility suite (engine/clients_test.go, clients/):
# Debian's mariadb client and Python drivers, and node's mysql2 pinned in
# clients/package-lock.json; DuckDB (engine/duckdb_test.go) pinned in
# scripts/duckdb/package-lock.json. Idempotent: installs only what is
# missing, and runs npm ci only when a lock file is newer than its
# node_modules.
NPM_DIRS ?= clients scripts/duckdb
CLIENT_DEBS ?= mariadb-client python3-pymysql python3-mysqldb python3-sqlalchemy python3-pandas
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
.PHONY: clients-deps
clients-deps:
	@missing=""; \
	for p in $(CLIENT_DEBS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		echo "clients-deps: installing$$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing || exit 1; \
	fi
	@for d in $(NPM_DIRS); do \
		if [ ! -f $$d/node_modules/.package-lock.json ] || [ $$d/package-lock.json -nt $$d/node_modules/.package-lock.json ]; then \
			echo "clients-deps: npm ci in $$d/"; \
			(cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
		fi; \
	done
