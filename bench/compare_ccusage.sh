#!/usr/bin/env bash
# tokenbook ingest + report next to ccusage, on the same Claude Code home, in
# one run: wall time and peak RSS of each step, and whether the totals agree.
#
#   bench/compare_ccusage.sh [CLAUDE_HOME]
#
# CLAUDE_HOME defaults to /tmp/tkb-bench/claude-home and is generated there
# (bench/gen_claude_home.py, ~700 MB) when missing. Environment:
#   TOKENBOOK  the tokenbook binary   (default build/release/tokenbook)
#   CCUSAGE    the ccusage binary     (default /tmp/ccusage/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage;
#              install with: mkdir -p /tmp/ccusage && cd /tmp/ccusage && npm i ccusage@20.0.24)
#   WORK       scratch directory      (default /tmp/tkb-bench/run; the ledger goes there)
#
# ccusage is timed as its native binary (what `npx ccusage` ends up running,
# without node's start-up). Both read the files from the page cache: a first
# pass over the files warms it for both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:-/tmp/tkb-bench/claude-home}"
work="${WORK:-/tmp/tkb-bench/run}"
tokenbook="${TOKENBOOK:-$here/../build/release/tokenbook}"
ccusage="${CCUSAGE:-/tmp/ccusage/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage}"

[ -x "$tokenbook" ] || { echo "no tokenbook binary at $tokenbook (set TOKENBOOK)" >&2; exit 66; }
[ -x "$ccusage" ] || { echo "no ccusage binary at $ccusage (see the header of this script)" >&2; exit 66; }
if [ ! -d "$data/projects" ]; then
  echo "generating $data ..." >&2
  python3 "$here/gen_claude_home.py" "$data" >&2
fi
mkdir -p "$work"
rm -rf "$work/ledger"
sync  # no earlier run's dirty pages to write back while either tool runs
find "$data" -name '*.jsonl' -print0 | xargs -0 cat > /dev/null  # warm the page cache for both tools

# run NAME CMD... : runs CMD with stdout to $work/NAME.out, records
# "NAME wall_s peak_kb user_s sys_s".
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/$name.time" "$@" > "$work/$name.out"
  echo "$name $(cat "$work/$name.time")" >> "$work/times"
}
: > "$work/times"
export NO_COLOR=1
run ccusage_1 env CLAUDE_CONFIG_DIR="$data" "$ccusage" claude daily --json --offline --timezone UTC
run ingest_1 "$tokenbook" --ledger "$work/ledger" ingest claude-code --path "$data" --json --no-progress
run report_1 "$tokenbook" --ledger "$work/ledger" report --period all --by day --format json --tz UTC
run ccusage_2 env CLAUDE_CONFIG_DIR="$data" "$ccusage" claude daily --json --offline --timezone UTC
run ingest_2 "$tokenbook" --ledger "$work/ledger" ingest claude-code --path "$data" --json --no-progress
run report_2 "$tokenbook" --ledger "$work/ledger" report --period all --by day --format json --tz UTC

python3 - "$work" "$data" <<'EOF'
import json, sys
work, data = sys.argv[1], sys.argv[2]
t = {}
for line in open(f"{work}/times"):
    name, wall, kb, user, sys_ = line.split()
    t[name] = (float(wall), int(kb), float(user) + float(sys_))
cc = json.load(open(f"{work}/ccusage_1.out"))["totals"]
ing = json.load(open(f"{work}/ingest_1.out"))
ing2 = json.load(open(f"{work}/ingest_2.out"))
rep = json.load(open(f"{work}/report_1.out"))["totals"]
rep2 = json.load(open(f"{work}/report_2.out"))["totals"]

def row(label, a, b):
    print(f"| {label} | {a} | {b} |")

first = t["ingest_1"][0] + t["report_1"][0]
again = t["ingest_2"][0] + t["report_2"][0]
print(f"data: {data}: {ing['files']} files, {ing['lines']:,} lines, {ing['bytes_read']/1e6:,.1f} MB")
print()
print("| | tokenbook | ccusage 20.0.24 |")
print("|---|---|---|")
row("first run: wall", f"{first:.2f} s (ingest {t['ingest_1'][0]:.2f} + report {t['report_1'][0]:.2f})",
    f"{t['ccusage_1'][0]:.2f} s")
row("re-run, nothing new: wall", f"{again:.2f} s (ingest {t['ingest_2'][0]:.2f} + report {t['report_2'][0]:.2f})",
    f"{t['ccusage_2'][0]:.2f} s")
cpu1 = t["ingest_1"][2] + t["report_1"][2]
cpu2 = t["ingest_2"][2] + t["report_2"][2]
row("first run: CPU (user + sys)", f"{cpu1:.2f} s", f"{t['ccusage_1'][2]:.2f} s")
row("re-run: CPU (user + sys)", f"{cpu2:.2f} s", f"{t['ccusage_2'][2]:.2f} s")
row("peak RSS", f"{max(t['ingest_1'][1], t['report_1'][1]) / 1024:.1f} MB (ingest {t['ingest_1'][1]/1024:.1f}, report {t['report_1'][1]/1024:.1f})",
    f"{t['ccusage_1'][1] / 1024:.1f} MB")
print()
print(f"wall-time ratio, first run: {t['ccusage_1'][0] / first:.1f}x; re-run: {t['ccusage_2'][0] / again:.1f}x")
print(f"CPU-time ratio, first run: {t['ccusage_1'][2] / cpu1:.1f}x; re-run: {t['ccusage_2'][2] / cpu2:.1f}x")
with open("/proc/loadavg") as f:
    print(f"load average at the end: {' '.join(f.read().split()[:3])} (2 cores shared with other work)")
print(f"re-run read {ing2['bytes_read']} bytes and added {ing2['entries']} entries")
print()
pairs = [("input", "inputTokens", "input_tokens"), ("output", "outputTokens", "output_tokens"),
         ("cache read", "cacheReadTokens", "cache_read_tokens"), ("cache write", "cacheCreationTokens", "cache_write_tokens")]
ok = True
for label, c, r in pairs:
    same = cc[c] == rep[r] == rep2[r]
    ok = ok and same
    print(f"{label:12} tokenbook {rep[r]:>16,}  ccusage {cc[c]:>16,}  {'equal' if same else 'DIFFERENT'}")
print("token totals:", "identical" if ok else "DIFFER")

# Costs. ccusage prices with LiteLLM's table, which bills the tokens of each
# kind above 200K at the long-context rate; Anthropic (and tokenbook) bill the
# whole request at that rate once its prompt (input + cache read + cache
# writes) exceeds 200K. Re-price those entries the LiteLLM way, exactly, and
# what remains must be rounding: under 1 µ$ per entry.
base = {"input": 3_000_000, "output": 15_000_000, "cache_read": 300_000, "cache_write_5m": 3_750_000,
        "cache_write_1h": 6_000_000}
high = {"input": 6_000_000, "output": 22_500_000, "cache_read": 600_000, "cache_write_5m": 7_500_000,
        "cache_write_1h": 12_000_000}
entries = 0
tier_entries = 0
adjusted = 0  # µ$, exact
for line in open(f"{work}/ledger/ledger.jsonl"):
    e = json.loads(line)
    entries += 1
    tok = e.get("tokens", {})
    prompt = sum(tok.get(k, 0) for k in ("input", "cache_read", "cache_write_5m", "cache_write_1h"))
    if e["model"] in ("claude-sonnet-4-5", "claude-sonnet-4") and prompt > 200_000:
        tier_entries += 1
        pico = 0
        for k, n in tok.items():
            if k not in base:
                continue
            pico += min(n, 200_000) * base[k] + max(n - 200_000, 0) * high[k]
        adjusted += pico / 1_000_000  # µ$ (float only for this explanation, never on tokenbook's money path)
    else:
        adjusted += e["cost_micros"]
cc_micros = cc["totalCost"] * 1e6
print()
print(f"cost: tokenbook {rep['cost_micros']:,} µ$, ccusage {cc_micros:,.0f} µ$, difference {rep['cost_micros'] - cc_micros:,.0f} µ$")
print(f"  {tier_entries} entries above 200K prompt tokens: billed whole at the long-context rate by tokenbook (Anthropic's rule),")
print(f"  per kind above 200K by ccusage (LiteLLM's); re-priced ccusage's way, tokenbook's total would be {adjusted:,.0f} µ$,")
print(f"  {abs(adjusted - cc_micros):,.1f} µ$ from ccusage over {entries:,} entries = {abs(adjusted - cc_micros) / max(entries, 1):.3f} µ$ per entry")
EOF
