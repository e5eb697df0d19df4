#!/usr/bin/env bash
# Runs every test suite against what scripts/build.sh built.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== native tests (SIMD kernels) =="
ctest --test-dir build/native --output-on-failure -j2
echo "== native tests (scalar kernels) =="
ctest --test-dir build/scalar --output-on-failure -j2
echo "== native tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
scripts/build.sh asan
ctest --test-dir build/asan --output-on-failure -j2
echo "== fuzzing, briefly: each libFuzzer target for 20 s, one per core at a time (scripts/fuzz.sh 900 for the full run) =="
scripts/fuzz.sh 20
echo "== WebAssembly tests (the engine compiled to wasm, run by Node) =="
ctest --test-dir build/wasm --output-on-failure
echo "== the Embind module in Node (bindings, golden parity, errors as values) =="
node --test tests/wasm/
echo "== the playground in headless Chromium (screenshots in test-results/screenshots) =="
node --test tests/e2e/playground.test.mjs
echo "== the embeddable widget from the built folder (dist/) =="
node --test tests/e2e/widget.test.mjs
echo "== two threads where the page is cross-origin isolated: the same tokens as one =="
node --test tests/e2e/threads.test.mjs
echo "== robustness in the browser: bad files, broken downloads, hostile text, a dying worker =="
node --test tests/e2e/robustness.test.mjs
echo "== models kept in the browser's cache, and model folders as src =="
node --test tests/e2e/model-cache.test.mjs
echo "== GPT-2 family in the browser: several files at once, sub-word tokens, memory refusals =="
node --test tests/e2e/gpt2.test.mjs
echo "== looking inside: one row's math, the α slider, the logit lens, head experiments and roles =="
node --test tests/e2e/look-inside.test.mjs
echo "== the Train view: a short run in the page, its weights in Generate and in a file, Pause, Reset =="
node --test tests/e2e/train.test.mjs
echo "== first use on every screen: desktop, tablet and phone with touch, keyboard, embeds =="
node --test tests/e2e/first-use.test.mjs
