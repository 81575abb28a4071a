#!/usr/bin/env bash
# The main job end to end on the embedded defaults: installs what is missing,
# builds, validates examples/ and plans them against the local state file
# (examples/.otaroll/state.db; absent means nothing has been created yet).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
bin=build/cmd/otaroll
echo "\$ otaroll validate examples"
"$bin" validate examples
echo
echo "\$ otaroll plan examples --detailed-exitcode"
status=0
"$bin" plan examples --detailed-exitcode || status=$?
# 2 = there are stages to create: the expected answer for a fresh state.
[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
