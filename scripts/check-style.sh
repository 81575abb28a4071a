#!/usr/bin/env bash
# Style checks the test script runs before the build's tests:
#   - clang-format: every C++ source must already be formatted (.clang-format);
#   - clang-tidy (.clang-tidy, a curated set of real-bug checks) on the engine
#     and cmd sources changed since BASE (default: the previous commit; in a
#     fresh clone with one commit, nothing).
#   scripts/check-style.sh BUILD_DIR [BASE]
# Needs compile_commands.json in BUILD_DIR (CMAKE_EXPORT_COMPILE_COMMANDS is on).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
base="${2:-HEAD~1}"
mapfile -t sources < <(git ls-files 'engine/*.cc' 'engine/*.h' 'cmd/*.cc' 'tests/*.cc' 'tests/*.h' 'bench/*.cc')
if ! clang-format --dry-run --Werror "${sources[@]}" 2>/tmp/otaroll-format.$$; then
  head -40 /tmp/otaroll-format.$$
  rm -f /tmp/otaroll-format.$$
  echo "check-style: these files are not clang-formatted; run: clang-format -i \$(git ls-files '*.cc' '*.h')" >&2
  exit 1
fi
rm -f /tmp/otaroll-format.$$
changed=()
if git rev-parse -q --verify "$base^{commit}" >/dev/null; then
  mapfile -t changed < <(git diff --name-only --diff-filter=AM "$base" -- 'engine/*.cc' 'cmd/*.cc' 'bench/*.cc')
fi
if [ ${#changed[@]} -gt 0 ]; then
  echo "check-style: clang-tidy on ${#changed[@]} changed file(s)"
  clang-tidy --quiet -p "$build" "${changed[@]}" 2>/dev/null
fi
echo "check-style: ok"
