#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan) and
# runs each for a bounded time from its seed corpus. Fails on the first
# crash, leak, timeout or out-of-memory; the input that did it is left in
# build/fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# CI runs `fuzz/run.sh 15`; a longer run is `fuzz/run.sh 600` (fuzz/README.md).
# New inputs that reach new code go to build/fuzz/corpus/<target>/, not to
# the committed seeds; merge the worthwhile ones by hand (README).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-15}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(ledger_line rate_toml config_toml litellm_json claude_code_line codex_line
           claude_json anthropic_response openai_response statusline report_totals)
fi
jobs=${TOKENBOOK_FUZZ_BUILD_JOBS:-2}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs"

dict_for() {
  case "$1" in
    claude_json|anthropic_response|openai_response|statusline) echo fuzz/documents.dict ;;
    *) echo "fuzz/$1.dict" ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
status=0
for t in "${targets[@]}"; do
  work=build/fuzz/corpus/$t
  artifacts=build/fuzz/artifacts/$t/
  mkdir -p "$work" "$artifacts"
  log=build/fuzz/$t.log
  echo "::: fuzz_$t for ${seconds}s"
  # -max_len: the parsers see lines and documents; 64 KiB leaves room for
  # deep nesting and long strings without slowing every run. The RSS limit
  # catches a parser whose memory grows with its input out of proportion.
  if build/fuzz/fuzz/fuzz_"$t" "$work" "fuzz/corpus/$t" \
       -dict="$(dict_for "$t")" -max_total_time="$seconds" -max_len=65536 \
       -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$artifacts" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    summary+=("$(printf '%-20s %10s runs  %s' "$t" "${runs:-?}" "$cov")")
  else
    status=1
    summary+=("$(printf '%-20s FAILED (see %s)' "$t" "$log")")
    tail -n 40 "$log"
  fi
done

echo "::: fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
