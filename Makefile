# Two entry points: `make demo` and `make test`. Both install what is missing (Debian packages,
# as root), configure and build incrementally into build/.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
RELEASE_BUILD ?= build-release
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps check-deps build asan fuzz test test-fast demo conformance release bench bench-serve clean format tidy

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
$(ASAN_BUILD)/build.ninja: | deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTRIG_SANITIZE=ON $(CMAKE_FLAGS)

asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

# The libFuzzer targets (tests/fuzz), built with clang under ASan+UBSan, each run FUZZ_SECONDS.
$(FUZZ_BUILD)/build.ninja: | deps
	CC=clang-19 CXX=clang++-19 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIG_FUZZ=ON $(CMAKE_FLAGS)

fuzz: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test: test-fast asan

demo: build
	scripts/demo.sh $(BUILD)/trig

# The project's cases, the examples, and the contract's cases when ../shared is beside the clone.
conformance: build
	python3 tests/conformance_shared.py $(BUILD)/trig ../shared

# The install guard: every system file the builds read comes from a package install-deps.sh installs.
check-deps:
	scripts/check-deps.py $(wildcard $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD))

# The release build: trig compiled by a profile of its own replay work (GCC profile-guided
# optimisation: an instrumented build, a training run, the build by its profile; about twice a
# build's time). What production should run, and what `make bench` measures.
release: deps
	scripts/release-build.sh $(RELEASE_BUILD)

# Benchmarks (numbers, not pass/fail) of the release build; figures are recorded in
# docs/performance.md. The quick side-by-side run (throughput, memory, compile time, latency; a few
# minutes), then the JIT's own.
# The full run: python3 bench/run.py --trig $(RELEASE_BUILD)/trig [--update-docs]
bench: build release
	python3 bench/run.py --quick --trig $(RELEASE_BUILD)/trig
	$(BUILD)/bench/trig_bench_jit --quick

# trig serve's HTTP ingest beside nginx (wrk; docs/performance.md, "Live ingest"). Not in `bench`.
bench-serve: build
	python3 bench/serve_bench.py --trig $(BUILD)/trig --profile

# clang-tidy-19 with .clang-tidy over compiler/, runtime/ and cli/ (a few minutes; .ci/run runs it).
tidy: build
	scripts/tidy.sh $(BUILD)

format:
	clang-format-19 -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(RELEASE_BUILD) $(RELEASE_BUILD)-gen
