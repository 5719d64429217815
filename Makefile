# voicetutor — the two commands a new user needs:
#   make run    install missing packages, build, run the tutor
#   make test   install missing packages, build, run every test (normal build
#               and again under AddressSanitizer + UndefinedBehaviorSanitizer)
# Other targets: build, asan, bench, demo (a simulated conversation), fuzz
# (every libFuzzer harness of tests/fuzz for FUZZ_SECONDS each), clean.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# seconds per fuzz harness: make fuzz, and the short run of make test
FUZZ_SECONDS ?= 120
FUZZ_SMOKE_SECONDS ?= 10
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build asan fuzz-build fuzz test test-normal test-asan test-fuzz run demo bench clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVT_WITH_SPEECH=ON -DVT_WITH_BRAIN=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVT_SANITIZE=ON -DVT_WITH_SPEECH=ON -DVT_WITH_BRAIN=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# The fuzz harnesses (tests/fuzz) under clang's libFuzzer, with ASan+UBSan.
fuzz-build: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVT_FUZZ=ON -DVT_WITH_SPEECH=ON -DVT_WITH_BRAIN=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers

fuzz: fuzz-build
	@./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# npm packages of the browser and protocol tests (tests/web): installed from
# package-lock.json when node_modules is missing or older than the lock file.
.PHONY: web-deps
web-deps: deps
	@if [ ! -d tests/web/node_modules ] || [ tests/web/package-lock.json -nt tests/web/node_modules ]; then \
	  npm ci --prefix tests/web --no-audit --no-fund && touch tests/web/node_modules; \
	fi

test-normal: build web-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: asan web-deps
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# a short bounded run of every harness (the corpus itself is replayed by
# ctest in both builds above)
test-fuzz: fuzz-build
	@./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS)

test: test-normal test-asan test-fuzz

# The tutor on the embedded engines: open the printed address in a browser.
# HOST/PORT/ARGS pass through, e.g. make run PORT=9000 ARGS="-o lesson=capitals".
HOST ?= 127.0.0.1
PORT ?= 8080
ARGS ?=
run: build
	./$(BUILD)/voicetutor serve --host $(HOST) --port $(PORT) $(ARGS)

demo: build
	./$(BUILD)/voicetutor simulate examples/demo.json --out out/demo

bench: build
	./$(BUILD)/bench_core

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) out
