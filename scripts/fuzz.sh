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
# fuzz_one TARGET: one libFuzzer run, its log in fuzz-results/TARGET.log; exit status its finding.
# -rss_limit_mb bounds memory; -timeout flags any input that takes over 10 s (a hang).
fuzz_one() {
  mkdir -p "build/fuzz/corpus/$1"
  build/fuzz/fuzz_"$1" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="fuzz-results/$1-" "build/fuzz/corpus/$1" "build/fuzz/seeds/$1" > "fuzz-results/$1.log" 2>&1
}
# One target per core at a time: each still gets its SECONDS of a whole core.
echo "== fuzzing ${targets[*]}, ${secs}s each, $(nproc) at a time =="
declare -A pid_of
failed=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  fuzz_one "$t" &
  pid_of[$t]=$!
done
for t in "${targets[@]}"; do
  if wait "${pid_of[$t]}"; then
    echo "fuzz_$t: $(grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "fuzz-results/$t.log" | tr '\n' ' ')"
  else
    tail -n 40 "fuzz-results/$t.log"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${failed[*]} found a problem; the inputs are in fuzz-results/" >&2
  exit 1
fi
