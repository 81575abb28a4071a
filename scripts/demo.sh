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

# The platform side: `otaroll sandbox` on loopback stands in for the OTA
# platform; `otaroll platform jobs` asks it, signed, what jobs it holds.
# (Applying the plan against it is the next step of the project.)
work=$(mktemp -d)
sandbox_pid=
cleanup() {
  if [ -n "$sandbox_pid" ]; then kill -TERM "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export OTAROLL_ACCESS_KEY_ID=demo-key OTAROLL_ACCESS_KEY_SECRET=demo-secret-not-for-production
echo
echo "\$ otaroll sandbox --listen 127.0.0.1:0 --data $work/sandbox.db --access-key demo-key:… &"
"$bin" sandbox --listen 127.0.0.1:0 --data "$work/sandbox.db" \
  --access-key "$OTAROLL_ACCESS_KEY_ID:$OTAROLL_ACCESS_KEY_SECRET" >"$work/listening" 2>"$work/sandbox.log" &
sandbox_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/listening" 2>/dev/null && break
  sleep 0.1
done
cat "$work/listening"
endpoint=$(sed -n 's/.*listening on //p' "$work/listening")
[ -n "$endpoint" ] || { echo "demo: the sandbox did not start:"; cat "$work/sandbox.log"; exit 1; }
echo
echo "\$ otaroll platform jobs --firmware 178 --endpoint $endpoint"
"$bin" platform jobs --firmware 178 --endpoint "$endpoint"
