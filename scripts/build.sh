#!/usr/bin/env bash
# Builds the engine natively (SIMD and scalar twins) and as WebAssembly, with their tests, then the
# folder to deploy (dist/gpt-playground-<version>/).
#   scripts/build.sh [native|scalar|wasm|dist|asan|tsan ...]   (default: the first four)
# asan: the native engine, CLI and tests under AddressSanitizer + UndefinedBehaviorSanitizer (Clang).
# tsan: the native tests under ThreadSanitizer, for changes to the thread pool and its splits
#       (build/tsan/gpt_tests "[parallel]"; not in npm test, whose time it would lengthen by ~3 min).
set -euo pipefail
cd "$(dirname "$0")/.."
# emcc's JS optimizer loads acorn and friends from Debian's node modules.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
jobs=$(nproc)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(native scalar wasm dist)

for t in "${targets[@]}"; do
  case "$t" in
    native) cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
            cmake --build build/native -j"$jobs" ;;
    scalar) cmake -S . -B build/scalar -DCMAKE_BUILD_TYPE=Release -DGPT_SIMD=OFF >/dev/null
            cmake --build build/scalar -j"$jobs" ;;
    wasm)   emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
            cmake --build build/wasm -j"$jobs" ;;
    dist)   node scripts/package.mjs ;;
    # Clang, as for the fuzz targets: with GCC 12 the sanitized build took 5.9 min and its tests 105 s
    # here, without the 50,000-character loss (9 min alone); with Clang 14, 2.3 min, 36 s and 13 s.
    asan)   CC=clang CXX=clang++ cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPT_SANITIZE=ON >/dev/null
            cmake --build build/asan -j"$jobs" ;;
    tsan)   cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS=-fsanitize=thread \
              -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread >/dev/null
            cmake --build build/tsan -j"$jobs" --target gpt_tests ;;
    *) echo "build.sh: unknown target '$t' (native, scalar, wasm, dist, asan, tsan)" >&2; exit 2 ;;
  esac
done
