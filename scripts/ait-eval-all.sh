#!/usr/bin/env bash
# Runs `picket triage` on every AIT-ADS scenario and prints the markdown table of docs/evaluation.md.
# Usage: scripts/ait-eval-all.sh [path/to/picket]   (default: target/release/picket)
set -euo pipefail
cd "$(dirname "$0")/.."
picket=${1:-target/release/picket}
data=../shared/data/ait-ads
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| scenario | alerts | incidents (escalated) | alerts/incident | FP alerts | FP handled without a human | attack phases escalated | phases not escalated | triage time |"
echo "|---|---|---|---|---|---|---|---|---|"
for f in "$data"/*_alerts.csv.gz; do
  s=$(basename "$f" _alerts.csv.gz)
  start=$(python3 -c 'import time; print(time.time())')
  "$picket" --config examples/ait-ads.toml triage "$f" --assignments "$tmp/$s.asg" > "$tmp/$s.jsonl" 2>/dev/null
  secs=$(python3 -c "import time; print(time.time() - $start)")
  python3 scripts/ait-eval.py "$f" "$tmp/$s.asg" "$tmp/$s.jsonl" --json | python3 -c "
import json, sys
r = json.load(sys.stdin)
ph = r['phases']
esc = [p for p, v in ph.items() if v['escalated']]
miss = [p + ('' if v['distinctive_alerts'] else '*') for p, v in ph.items() if not v['escalated']]
print(f\"| $s | {r['alerts']} | {r['incidents']} ({r['escalated_incidents']}) | {r['alerts_per_incident']} | {r['false_positive_alerts']} | {r['fp_handled_without_human']} ({100*r['fp_handled_share']:.1f}%) | {len(esc)}/{len(ph)} | {', '.join(miss) or '-'} | {float('$secs'):.1f} s |\")
"
done
echo
echo "\* the phase's time window holds no distinctive alert: only rules that were already firing before it began."
