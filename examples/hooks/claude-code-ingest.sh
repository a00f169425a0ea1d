#!/bin/sh
# claude-code-ingest.sh — a Claude Code hook (Stop / SessionEnd) that records
# the session's token usage in the tokenbook ledger.
#
# Claude Code runs it with the hook's JSON on standard input
# ({"session_id": ..., "transcript_path": ..., "hook_event_name": ...}); it
# ingests that transcript and the session's sub-agent transcripts beside it
# (`<session>/subagents/`) with `tokenbook ingest claude-code --path ...`.
#
# Stop fires after every assistant turn, so this must be cheap and safe to
# repeat: tokenbook keeps per-file offsets and reads only the bytes added
# since the last run, and every entry carries a source key (message id +
# request id), so running it again, or on SessionEnd after Stop, adds nothing.
#
# A hook must never get in the session's way: whatever happens it exits 0
# (exit code 2 from a Stop hook would stop Claude from stopping) and prints
# nothing on standard output; problems go to standard error, which Claude Code
# shows in verbose mode.
#
# Environment:
#   TOKENBOOK      the tokenbook command (default: tokenbook on PATH)
#   TOKENBOOK_DIR  the ledger (default: tokenbook's own search, see docs/ledger-format.md)
tokenbook=${TOKENBOOK:-tokenbook}

input=$(cat)
# The transcript path, read with whatever JSON tool is at hand. Paths are
# taken from Claude Code's own hook input, never from the transcript.
if command -v jq >/dev/null 2>&1; then
  transcript=$(printf '%s' "$input" | jq -r '.transcript_path // empty' 2>/dev/null)
elif command -v python3 >/dev/null 2>&1; then
  transcript=$(printf '%s' "$input" | python3 -c 'import json, sys
try:
    print(json.load(sys.stdin).get("transcript_path") or "")
except Exception:
    pass' 2>/dev/null)
else
  echo "claude-code-ingest: neither jq nor python3 found to read the hook input" >&2
  exit 0
fi
case $transcript in
  "") echo "claude-code-ingest: no transcript_path in the hook input" >&2; exit 0 ;;
  "~/"*) transcript="$HOME/${transcript#\~/}" ;;
esac
[ -f "$transcript" ] || { echo "claude-code-ingest: no transcript at $transcript" >&2; exit 0; }

set -- --path "$transcript"
subagents="${transcript%.jsonl}/subagents"
[ -d "$subagents" ] && set -- "$@" --path "$subagents"
"$tokenbook" ingest claude-code "$@" --no-progress >/dev/null || \
  echo "claude-code-ingest: tokenbook ingest failed (exit $?)" >&2
exit 0
