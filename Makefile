# SPDX-License-Identifier: Apache-2.0
# The two commands of the README:
#   make run   installs dependencies, builds (release) and runs cloudkv on file://./data
#   make test  installs dependencies, builds (debug: ASan+UBSan), starts the S3 test server and
#              runs the whole suite with ctest
# Other targets are conveniences for developers.

PRESET ?= debug
JOBS ?= $(shell nproc)

.PHONY: all deps build release run test test-only tsan fuzz format tidy clean s3-start s3-stop

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

run: release
	@scripts/run

test: deps
	@scripts/test

# Runs ctest on an existing debug build without the install step (fast iteration).
test-only:
	@cmake --build --preset $(PRESET) -j $(JOBS)
	@cd build/$(PRESET) && ctest --output-on-failure -j 2 $(ARGS)

# TSan's deadlock detector aborts (a CHECK, not a report) when a thread holds more than 64
# locks; the server's FLUSHDB and MULTI/EXEC lock many key stripes at once, in stripe order.
# The bench smoke test is left out: it drives Debian's RocksDB and LevelDB, which are not
# instrumented, so TSan reports races inside them that are not there.
tsan: deps
	@$(MAKE) --no-print-directory PRESET=tsan build
	@cd build/tsan && TSAN_OPTIONS=detect_deadlocks=0 ctest --output-on-failure -j 2 -LE 'slow|s3|bench' $(ARGS)

# Builds the fuzz preset and runs every fuzz target FUZZ_SECONDS seconds (scripts/fuzz).
FUZZ_SECONDS ?= 60
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

tidy:
	@cmake --preset debug >/dev/null
	@git ls-files 'src/*.cc' | xargs clang-tidy -p build/debug --quiet

s3-start:
	@scripts/s3-server start

s3-stop:
	@scripts/s3-server stop

clean:
	rm -rf build
