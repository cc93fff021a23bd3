#!/bin/sh
# Builds and runs the format layer micro-benchmark (bench/bench_format.c)
# against the static libraries of a CMake build directory.
#   bench/bench_format.sh [BUILD_DIR] [MiB] [DIR]
set -e
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/libtv_format.a" ] || cmake --build "$build" --target tv_format tv_tape tv_util
out="$build/bench_format"
${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -Wall -Wextra -Isrc bench/bench_format.c \
	"$build/libtv_format.a" "$build/libtv_tape.a" "$build/libtv_util.a" \
	$(pkg-config --libs openssl jansson) -lpthread -lm -o "$out"
exec "$out" "${2:-1024}" "${3:-/dev/shm}"
