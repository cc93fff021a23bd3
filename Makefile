# tapevault: the two commands the README promises.
#   make demo    install what is missing (as root), build, run the demo
#   make check   install what is missing (as root), build, run the whole
#                test suite, then again under ASan+UBSan (warnings are errors)
#   make install build, then install the binary and its man page
#   make deb     build, then the Debian package tapevault_VERSION_ARCH.deb here
#                (PREFIX, default /usr/local; DESTDIR for staging)
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
WERROR ?= OFF

.PHONY: all deps build demo check check-plain check-asan fuzz bench install deb clean

all: build

deps:
	@sh tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTV_WERROR=$(WERROR) \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	bash tools/demo.sh $(BUILD)/tapevault

check-plain: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTV_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 TV_SANITIZED=1 \
	  ctest --output-on-failure -j $(JOBS)

check: check-plain check-asan

deb: build
	sh tools/mkdeb.sh $(BUILD) .
check check-plain check-asan: WERROR = ON

install: build
	cmake --install $(BUILD)

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DTV_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j $(JOBS)

bench: build
	bash bench/throughput.sh $(BUILD)/tapevault

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
