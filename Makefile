# mailhound -- thin front door over CMake. `make demo` and `make test` are the quick start.
JOBS ?= $(shell nproc)
REL  := build/release
ASAN := build/asan

.PHONY: all deps build demo test test-release check bench fuzz format clean

all: build

deps:
	@scripts/install-deps

$(REL)/Makefile: deps CMakeLists.txt
	@cmake -S . -B $(REL) -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null

build: deps
	@cmake -S . -B $(REL) -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null
	@cmake --build $(REL) -j$(JOBS) >/dev/null

demo: build
	@scripts/demo $(REL)/mailhound

# Every suite: checksrc, the gcc -Werror build, then the clang ASan+UBSan build
# with unit, golden, shared-corpus and fuzz-smoke tests under ctest.
test: deps
	@scripts/checksrc
	@cmake -S . -B $(REL) -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null
	@cmake --build $(REL) -j$(JOBS) >/dev/null
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	  -DMH_SANITIZE=ON -DMH_FUZZ=ON >/dev/null
	@cmake --build $(ASAN) -j$(JOBS) >/dev/null
	@cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j$(JOBS)

bench: build
	@bench/run $(REL)

fuzz:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	  -DMH_SANITIZE=ON -DMH_FUZZ=ON >/dev/null
	@cmake --build $(ASAN) -j$(JOBS) >/dev/null
	@MH_FUZZ_SECONDS=$${MH_FUZZ_SECONDS:-300} scripts/fuzz-all $(ASAN)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
