#!/usr/bin/env bash
# The main job end to end on the embedded defaults: installs what is missing,
# builds, starts `otaroll sandbox` on loopback as the OTA platform, validates
# and plans examples/, applies the plan against the sandbox (state in
# examples/.otaroll/state.db), shows the status, and stops the sandbox.
# Running it again finds everything in sync: the sandbox keeps its jobs in
# examples/.otaroll/sandbox.db.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
bin=build/cmd/otaroll
work=$(mktemp -d)
sandbox_pid=
cleanup() {
  if [ -n "$sandbox_pid" ]; then kill -TERM "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p examples/.otaroll

# A demo key pair, known to the sandbox only.
export OTAROLL_ACCESS_KEY_ID=demo-key OTAROLL_ACCESS_KEY_SECRET=demo-secret-not-for-production
echo "\$ otaroll sandbox --listen 127.0.0.1:0 --data examples/.otaroll/sandbox.db --task-seconds 2 --access-key demo-key:… &"
"$bin" sandbox --listen 127.0.0.1:0 --data examples/.otaroll/sandbox.db --task-seconds 2 \
  --access-key "$OTAROLL_ACCESS_KEY_ID:$OTAROLL_ACCESS_KEY_SECRET" >"$work/listening" 2>"$work/sandbox.log" &
sandbox_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/listening" 2>/dev/null && break
  sleep 0.1
done
cat "$work/listening"
endpoint=$(sed -n 's/.*listening on //p' "$work/listening")
[ -n "$endpoint" ] || { echo "demo: the sandbox did not start:"; cat "$work/sandbox.log"; exit 1; }
export OTAROLL_ENDPOINT=$endpoint

echo
echo "\$ otaroll validate examples"
"$bin" validate examples
echo
echo "\$ otaroll plan examples"
"$bin" plan examples
echo
echo "\$ otaroll apply examples --yes"
"$bin" apply examples --yes
echo
echo "\$ otaroll status --state examples/.otaroll/state.db"
"$bin" status --state examples/.otaroll/state.db
echo
echo "\$ otaroll platform jobs --firmware 178"
"$bin" platform jobs --firmware 178

# The daemon carries examples/daemon-demo/fast-sensor.yaml (gates of seconds)
# through its stages by itself, then stops on SIGTERM.
echo
echo "\$ otaroll daemon examples --interval 30s --listen 127.0.0.1:0 &   # for about a minute, then SIGTERM"
"$bin" daemon examples --interval 30s --listen 127.0.0.1:0 --observe-every 3s &
daemon_pid=$!
for _ in $(seq 90); do
  "$bin" status fast-sensor-demo --state examples/.otaroll/state.db --format json 2>/dev/null |
    grep -q '"name": "everyone"' && break
  sleep 1
done
sleep 1
kill -TERM "$daemon_pid"
wait "$daemon_pid"
echo
echo "\$ otaroll status fast-sensor-demo --state examples/.otaroll/state.db"
"$bin" status fast-sensor-demo --state examples/.otaroll/state.db
