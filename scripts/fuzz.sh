#!/usr/bin/env bash
# The long fuzz run (docs/security.md "Fuzzing"): builds the fuzz targets with
# clang's libFuzzer, ASan and UBSan into build-fuzz/, and runs each for
# SECONDS (default 300) on a working copy of its seed corpus. Crashes are
# written to build-fuzz/findings/<target>/.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
scripts/install-deps.sh
missing=()
for p in clang libclang-rt-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTAROLL_FUZZ=ON \
  -DOTAROLL_WERROR=OFF >/dev/null
cmake --build build-fuzz --target manifest_fuzz response_fuzz
run() {
  local target="$1"; shift
  local work="build-fuzz/corpus/$target" findings="build-fuzz/findings/$target"
  mkdir -p "$work" "$findings"
  for seed in "$@"; do find "$seed" -type f -exec cp -n {} "$work/" \; ; done
  echo "fuzz: $target for ${seconds}s"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build-fuzz/tests/fuzz/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$work" 2>&1 | tail -n 25
}
run manifest_fuzz tests/corpus examples
run response_fuzz tests/platform/bodies
echo "fuzz: findings (crashes, timeouts, out-of-memory inputs), if any:"
find build-fuzz/findings -type f | sed 's/^/  /'
