#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test.
# --sanitize: the same under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh "$@"
dir=build
[ "${1:-}" = "--sanitize" ] && dir=build-asan
# Formatting of every source and clang-tidy on the last commit's changes
# (once: the sanitizer run checks the same sources).
[ "${1:-}" = "--sanitize" ] || scripts/check-style.sh "$dir"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"
