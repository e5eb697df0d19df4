#!/usr/bin/env bash
# Fuzzes the safetensors loader, the model's config/metadata validation (with a few generation steps
# on whatever loads) and the tokenizer with libFuzzer + ASan + UBSan, seeded with the valid test
# checkpoints and every bad file of the test suite; and, structure-aware, safetensors headers and
# tokenizer.json files assembled from valid pieces by the fuzz input (header, tokenizer_json).
#   scripts/fuzz.sh [SECONDS_PER_TARGET=900] [safetensors|model|tokenizer|header|tokenizer_json ...]
# Findings (crashing inputs) are written to fuzz-results/; the corpus grows in build/fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-900}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors model tokenizer header tokenizer_json)

CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPT_FUZZ=ON -DGPT_TESTS=OFF >/dev/null
cmake --build build/fuzz -j"$(nproc)"
rm -rf build/fuzz/seeds
build/fuzz/write_corpus tests/data build/fuzz/seeds
mkdir -p fuzz-results
for t in "${targets[@]}"; do
  mkdir -p "build/fuzz/corpus/$t"
  echo "== fuzz_$t for ${secs}s =="
  # -rss_limit_mb bounds memory; -timeout flags any input that takes over 10 s (a hang).
  if ! build/fuzz/fuzz_"$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="fuzz-results/$t-" "build/fuzz/corpus/$t" "build/fuzz/seeds/$t" > "fuzz-results/$t.log" 2>&1; then
    tail -n 40 "fuzz-results/$t.log"
    echo "fuzz.sh: fuzz_$t found a problem; the input is in fuzz-results/" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "fuzz-results/$t.log" | tr '\n' ' '
  echo
done
