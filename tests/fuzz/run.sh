#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, with AddressSanitizer and
# UndefinedBehaviorSanitizer) and runs each for SECONDS (default 60).
#   tests/fuzz/run.sh [SECONDS]
# Corpora live in build/fuzz/corpus-*; seeds are the committed vocabularies and
# small GGUFs; files in tests/fuzz/regressions/<target>/ (inputs that once
# crashed) are replayed first. A crash leaves its input in build/fuzz/ and
# fails the run. Longer runs: tests/fuzz/run.sh 3600.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-60}
# the vocabularies (tokenizers/) are committed fixtures: tests/fixtures/README.md
FIXTURES=${GF_FIXTURES:-tests/fixtures}

CLANG=$(command -v clang-19 || true)
if [ -z "$CLANG" ] || ! echo 'int LLVMFuzzerTestOneInput(const char*d,long n){return 0;}' | "$CLANG" -x c - -fsanitize=fuzzer -o /dev/null 2>/dev/null; then
  # installs only when asked to: CI (CI=true) or GF_INSTALL=1
  if { [ "${CI:-}" = true ] || [ "${GF_INSTALL:-}" = 1 ]; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-19 libclang-rt-19-dev >&2
    CLANG=$(command -v clang-19)
  else
    echo "fuzz: needs clang-19 with libFuzzer: sudo apt-get install -y clang-19 libclang-rt-19-dev (or GF_INSTALL=1 to let this script do it)" >&2
    exit 1
  fi
fi

OUT=build/fuzz
mkdir -p "$OUT"
SRC=$(ls src/*/*.c | grep -v -e _simd128 -e parallel_pool)
FLAGS="-std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc"
for t in gguf tokenizer sampler; do
  if [ ! -x "$OUT/fuzz_$t" ] || [ -n "$(find src tests/fuzz -newer "$OUT/fuzz_$t" -name '*.[ch]' | head -1)" ]; then
    echo "fuzz: building fuzz_$t" >&2
    "$CLANG" $FLAGS tests/fuzz/fuzz_$t.c $SRC -lm -o "$OUT/fuzz_$t"
  fi
done

seed() {
  local dir=$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/" 2>/dev/null || true; done
}
# GGUF seeds: the vocabulary files (headers without tensors) and the small fuzz seeds
seed "$OUT/corpus-gguf" "$FIXTURES"/tokenizers/*.gguf tests/fuzz/seeds/*.gguf
seed "$OUT/corpus-tokenizer" "$FIXTURES"/tokenizers/*.inp
mkdir -p "$OUT/corpus-sampler"

status=0
summary=""
for t in gguf tokenizer sampler; do
  regress=tests/fuzz/regressions/$t
  inputs=$(find "$regress" -maxdepth 1 -type f ! -name '.*' 2>/dev/null)
  if [ -n "$inputs" ]; then
    # shellcheck disable=SC2086 # file names have no spaces (the fuzzers name them by hash)
    GF_FIXTURES=$FIXTURES "$OUT/fuzz_$t" -runs=0 $inputs >/dev/null 2>&1 || { echo "fuzz: a regression input for $t crashes again" >&2; status=1; }
  fi
  log="$OUT/fuzz_$t.log"
  if GF_FIXTURES=$FIXTURES "$OUT/fuzz_$t" "$OUT/corpus-$t" -max_total_time="$SECONDS_EACH" -max_len=1048576 -rss_limit_mb=2048 \
       -timeout=10 -artifact_prefix="$OUT/$t-" -print_final_stats=1 >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    corpus=$(ls "$OUT/corpus-$t" | wc -l)
    summary+="fuzz_$t: $execs executions in ${SECONDS_EACH}s, corpus $corpus inputs, 0 crashes"$'\n'
  else
    echo "fuzz: fuzz_$t found a crash; its input is in $OUT/ (last lines of $log):" >&2
    tail -30 "$log" >&2
    status=1
  fi
done
printf '%s' "$summary"
exit $status
