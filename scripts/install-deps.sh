#!/usr/bin/env bash
# Installs what otaroll needs to build and test, and only what is missing.
# Idempotent: a second run installs nothing. Debian packages via apt-get, the
# JSON Schema checker's npm packages from its lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config git
          libyaml-cpp-dev nlohmann-json3-dev libsqlite3-dev libssl-dev
          libgtest-dev libgmock-dev libcli11-dev libfmt-dev sqlite3
          libcurl4-openssl-dev libcpp-httplib-dev clang-format clang-tidy
          prometheus-cpp-dev prometheus
          libhowardhinnant-date-dev tzdata gnupg help2man
          libpq-dev postgresql
          chromium)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages the tests use, each from its lock file: the JSON Schema
# validator (ajv) that otaroll's verdicts are compared with, and Alibaba
# Cloud's official RPC client that must be able to talk to `otaroll sandbox`.
for tool in tools/schema-check tools/sdk-check; do
  if [ ! -d "$tool/node_modules" ] || [ "$tool/package-lock.json" -nt "$tool/node_modules/.package-lock.json" ]; then
    echo "install-deps: installing the npm packages of $tool"
    npm ci --prefix "$tool" --no-audit --no-fund --loglevel=error >/dev/null
  fi
done
