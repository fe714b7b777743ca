# lcstore: the two commands a new machine needs are `make demo` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# Build trees of several checkouts (git worktrees) share ccache objects.
export CCACHE_BASEDIR := $(CURDIR)

.PHONY: all deps configure build test demo install bench bench-full sanitize-test clean format format-check fuzz

all: build

# Installs missing Debian packages (as root) and the pinned npm packages the
# interoperability test runs with.
deps:
	bash scripts/install-deps
	cd tests/interop && (test -d node_modules/zarrita || npm ci --no-audit --no-fund --loglevel=error)

# The Python extension is built with the rest, for the pytest suite.
PYTHON_FLAGS = -DLCSTORE_BUILD_PYTHON=ON -DPython_EXECUTABLE=$(CURDIR)/.venv/bin/python

configure: deps
	cmake -S . -B $(BUILD) $(PYTHON_FLAGS) $(CMAKE_FLAGS) >/dev/null

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	PYTHONPATH=$(abspath $(BUILD))/python .venv/bin/python -m pytest -q tests/python
	$(MAKE) interop-python-test

# The interoperability matrix against zarr-python (3.0.6 from its own folder,
# then the newest with zarrs' pipeline) and TensorStore: tests/interop_python.
.PHONY: interop-python-test bench-peers
interop-python-test:
	cd tests/interop_python && LCSTORE_BUILD=$(abspath $(BUILD)) PYTHONPATH=$(CURDIR)/.venv/zarr-3.0.6 \
	  $(CURDIR)/.venv/bin/python -m pytest -q -p no:cacheprovider
	cd tests/interop_python && LCSTORE_BUILD=$(abspath $(BUILD)) $(CURDIR)/.venv/bin/python -m pytest -q -p no:cacheprovider

# lcstore against zarr-python, zarrs and TensorStore on the zarr_benchmarks
# workloads (see bench/peers.py for its settings).
bench-peers: build
	LCSTORE_BUILD=$(abspath $(BUILD)) .venv/bin/python bench/peers.py

# The whole job on a simulated field through the real SExtractor; scale it
# with DEMO_STARS, DEMO_EPOCHS, DEMO_SIZE (see demo/run-demo).
# Builds only the program the demo runs.
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target lcstore_cli
	DEMO_DIR=demo-output LCSTORE=$(BUILD)/lcstore DEMO_JOBS=$(JOBS) demo/run-demo

# Headers, libraries, the lcstore program and find_package(lcstore) files.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	$(BUILD)/bench/codec_bench
	$(BUILD)/bench/lock_bench
	$(BUILD)/bench/catalog_bench
	$(BUILD)/bench/lightcurve_bench
	$(BUILD)/bench/serve_bench
	.venv/bin/python bench/features_bench.py --program $(BUILD)/bench/features_bench

# The IRAC Dark Field scale pipeline (16 GB of light curves; about 35 GB of
# free disk under $$TMPDIR, default /tmp): see bench/full-scale.
bench-full: build
	BUILD=$(BUILD) bench/full-scale

# The concurrency and parser tests (those labelled sanitize, built alone) under
# AddressSanitizer+UBSan and ThreadSanitizer, the stress scenarios shortened to
# 20 repetitions.
sanitize-test: deps
	cmake -S . -B build-asan -DLCSTORE_SANITIZE=address -DLCSTORE_BUILD_BENCH=OFF >/dev/null
	cmake --build build-asan -j $(JOBS) --target sanitize_tests
	cd build-asan && LCSTORE_STRESS_REPETITIONS=20 ctest --output-on-failure -j $(JOBS) -L sanitize
	cmake -S . -B build-tsan -DLCSTORE_SANITIZE=thread -DLCSTORE_BUILD_BENCH=OFF >/dev/null
	cmake --build build-tsan -j $(JOBS) --target sanitize_tests
	cd build-tsan && LCSTORE_STRESS_REPETITIONS=20 ctest --output-on-failure -j $(JOBS) -L sanitize

# The libFuzzer harnesses of fuzz/, built with clang under ASan+UBSan, each run
# for FUZZ_SECONDS (default 30) on seeds made from the shared fixtures.
fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DLCSTORE_SANITIZE=address -DLCSTORE_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target fuzzers
	FUZZ_BUILD=build-fuzz fuzz/run

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz demo-output
