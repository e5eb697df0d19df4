#!/usr/bin/env bash
# Builds the engine natively (SIMD and scalar twins) and as WebAssembly, with their tests.
#   scripts/build.sh [native|scalar|wasm ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
# emcc's JS optimizer loads acorn and friends from Debian's node modules.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
jobs=$(nproc)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(native scalar wasm)

for t in "${targets[@]}"; do
  case "$t" in
    native) cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
            cmake --build build/native -j"$jobs" ;;
    scalar) cmake -S . -B build/scalar -DCMAKE_BUILD_TYPE=Release -DGPT_SIMD=OFF >/dev/null
            cmake --build build/scalar -j"$jobs" ;;
    wasm)   emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
            cmake --build build/wasm -j"$jobs" ;;
    *) echo "build.sh: unknown target '$t' (native, scalar, wasm)" >&2; exit 2 ;;
  esac
done
