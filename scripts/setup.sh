#!/usr/bin/env bash
# Installs what the build and the tests need and is missing. Idempotent; runs as root without a
# terminal (CI). Only Debian/Ubuntu packages and the npm registry are used.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, by what needs them:
#   build:   cmake g++ libxsimd-dev nlohmann-json3-dev catch2 emscripten (+ nodejs libs emcc's
#            JS optimizer loads from /usr/share/nodejs)
#   fuzzing and the sanitized tests: clang libclang-rt-14-dev (libFuzzer and the sanitizer runtimes)
#   browser: chromium (headless e2e tests, driven by playwright-core)
packages=(cmake g++ make libxsimd-dev nlohmann-json3-dev catch2 emscripten clang libclang-rt-14-dev chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages (playwright-core only: the browser itself is Debian's chromium).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
