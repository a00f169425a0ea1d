#!/usr/bin/env bash
# log-session.sh — a hook that logs one model session into the tokenbook ledger.
#
# Call it from whatever runs your agents (a session-end hook, a CI step, a
# wrapper script) with the usage the provider reported:
#
#   log-session.sh --model claude-sonnet-4-5 --input 12000 --output 4500 \
#                  --cache-read 8000 --session "$SESSION_ID" --agent reviewer
#
# It runs `tokenbook log` (docs/cli.md) with the same options. With
# --check-budget it then runs `tokenbook budget` and exits 2 when a budget is
# critical or exceeded, so a host that treats exit code 2 as "stop" (as agent
# hooks commonly do) halts the session; a warning is printed on stderr only.
#
# A hook must not break the tool that calls it: when logging fails the reason
# goes to stderr and the exit code is 0, unless TOKENBOOK_HOOK_STRICT=1.
#
# --dry-run prints the `tokenbook log` command instead of running it, and
# prices the usage with `tokenbook price`, which changes nothing.
#
# Environment:
#   TOKENBOOK              the tokenbook command (default: tokenbook on PATH)
#   TOKENBOOK_SESSION      default for --session (else one is made up)
#   TOKENBOOK_AGENT        default for --agent
#   TOKENBOOK_FEATURE      default for --feature
#   TOKENBOOK_HOOK_STRICT  1: exit non-zero when logging fails
set -euo pipefail

prog=${0##*/}
tokenbook=${TOKENBOOK:-tokenbook}

usage() {
  cat <<EOF
Usage: $prog --model M --input N --output N [options]

Token counts (non-negative integers):
  --input N  --output N  --cache-read N  --cache-write N (5-minute)
  --cache-write-1h N  --reasoning N  --requests N
Dimensions:
  --session S  --agent A  --feature F  --project P  --tool T  --category C
  --task-type T  --action NAME  --action-type skill|agent|manual|scheduled
  --service-tier T  --duration-ms N  --tag KEY=VALUE (repeatable)  --notes TEXT
Other:
  --ledger DIR     the .tokenbook directory (default: tokenbook finds it)
  --check-budget   after logging, exit 2 if a budget is critical or exceeded
  --dry-run        print the tokenbook log command and price the usage only
  -h, --help       this help
EOF
}

die_usage() {
  echo "$prog: $*" >&2
  echo "Run '$prog --help' for the options." >&2
  exit 64
}

model=""
session=${TOKENBOOK_SESSION:-}
agent=${TOKENBOOK_AGENT:-}
feature=${TOKENBOOK_FEATURE:-}
ledger=""
check_budget=0
dry_run=0
have_input=0
have_output=0
token_args=()  # accepted by both `tokenbook log` and `tokenbook price`
dim_args=()    # `tokenbook log` only

need_value() {
  [[ $# -ge 2 && -n $2 ]] || die_usage "$1 needs a value"
}
need_count() {
  need_value "$@"
  [[ $2 =~ ^[0-9]+$ ]] || die_usage "$1 needs a non-negative integer, not '$2'"
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --model) need_value "$@"; model=$2; shift 2 ;;
    --input) need_count "$@"; token_args+=("$1" "$2"); have_input=1; shift 2 ;;
    --output) need_count "$@"; token_args+=("$1" "$2"); have_output=1; shift 2 ;;
    --cache-read|--cache-write|--cache-write-5m|--cache-write-1h|--reasoning|--requests)
      need_count "$@"; token_args+=("$1" "$2"); shift 2 ;;
    --service-tier) need_value "$@"; token_args+=("$1" "$2"); shift 2 ;;
    --session) need_value "$@"; session=$2; shift 2 ;;
    --agent) need_value "$@"; agent=$2; shift 2 ;;
    --feature) need_value "$@"; feature=$2; shift 2 ;;
    --duration-ms) need_count "$@"; dim_args+=("$1" "$2"); shift 2 ;;
    --project|--tool|--category|--task-type|--notes|--action|--action-type)
      need_value "$@"; dim_args+=("$1" "$2"); shift 2 ;;
    --tag)
      need_value "$@"
      [[ $2 == ?*=* ]] || die_usage "--tag needs KEY=VALUE, not '$2'"
      dim_args+=("$1" "$2"); shift 2 ;;
    --ledger) need_value "$@"; ledger=$2; shift 2 ;;
    --check-budget) check_budget=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown option '$1'" ;;
  esac
done

[[ -n $model ]] || die_usage "--model is required"
[[ $have_input == 1 && $have_output == 1 ]] || die_usage "--input and --output are required"
if [[ -z $session ]]; then
  session="$(date -u +%Y%m%dT%H%M%SZ)-$$"
fi

global_args=()
[[ -n $ledger ]] && global_args+=(--ledger "$ledger")

log_args=(log --model "$model" "${token_args[@]}" --session "$session")
[[ -n $agent ]] && log_args+=(--agent "$agent")
[[ -n $feature ]] && log_args+=(--feature "$feature")
log_args+=("${dim_args[@]}")

if [[ $dry_run == 1 ]]; then
  printf 'would run:'
  printf ' %q' "$tokenbook" "${global_args[@]}" "${log_args[@]}"
  printf '\n'
  # `price` takes no --ledger: it prices with the built-in rate table.
  exec "$tokenbook" price --model "$model" "${token_args[@]}"
fi

soft_fail() {
  echo "$prog: $*" >&2
  if [[ ${TOKENBOOK_HOOK_STRICT:-0} == 1 ]]; then exit 1; fi
  exit 0
}

command -v "$tokenbook" >/dev/null 2>&1 || soft_fail "'$tokenbook' not found; set TOKENBOOK or PATH"

"$tokenbook" "${global_args[@]}" "${log_args[@]}" || soft_fail "tokenbook log failed; nothing logged"

if [[ $check_budget == 1 ]]; then
  # tokenbook budget: 0 ok, 1 warning, 2 critical or exceeded.
  status=0
  report=$("$tokenbook" "${global_args[@]}" budget 2>&1) || status=$?
  case $status in
    0) ;;
    1) echo "$prog: budget warning:" >&2; echo "$report" >&2 ;;
    2) echo "$prog: budget critical or exceeded:" >&2; echo "$report" >&2; exit 2 ;;
    *) soft_fail "tokenbook budget failed: $report" ;;
  esac
fi
