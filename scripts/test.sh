#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test.
# --sanitize: the same under AddressSanitizer and UndefinedBehaviorSanitizer.
# --tsan: the tests of the folders whose code runs threads (apply's workers,
# the platform client and its transport, the state's handles and lease
# heartbeat, the notification senders) under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ "${1:-}" = "--tsan" ]; then
  threaded=(apply platform state notify)
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTAROLL_TSAN=ON >/dev/null
  cmake --build build-tsan --target "${threaded[@]/%/_test}"
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  for t in "${threaded[@]}"; do
    echo "test.sh: ${t}_test under ThreadSanitizer"
    build-tsan/tests/"${t}"_test --gtest_brief=1
  done
  exit 0
fi
scripts/build.sh "$@"
dir=build
[ "${1:-}" = "--sanitize" ] && dir=build-asan
# Formatting of every source and clang-tidy on the last commit's changes
# (once: the sanitizer run checks the same sources).
[ "${1:-}" = "--sanitize" ] || scripts/check-style.sh "$dir"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"
