#!/usr/bin/env python3
"""Scores `picket triage` on an AIT-ADS scenario against its labels (the labels are never shown to Picket).

Usage:
  picket --config examples/ait-ads.toml triage SCENARIO.csv.gz --assignments A.ndjson > I.jsonl
  python3 scripts/ait-eval.py SCENARIO.csv.gz A.ndjson I.jsonl [--json]

Reports: false-positive alerts that ended in incidents a human must look at versus closed automatically;
alerts per incident; per attack phase, how many of its alerts reached an escalated incident, and whether
the phase had any *distinctive* alert at all (a rule not seen before the phase began: phases whose window
holds only rules that were already firing routinely cannot be told apart by any alert-level triage).
"""
import csv, gzip, json, sys, collections

csvp, asgp, incp = sys.argv[1:4]
as_json = "--json" in sys.argv
inc = {}
for l in open(incp):
    d = json.loads(l)
    inc[d["id"]] = d
rows = {}
opener = gzip.open if csvp.endswith(".gz") else open
with opener(csvp, "rt") as f:
    for i, r in enumerate(csv.DictReader(f)):
        rows[i + 2] = r  # CSV line number (header is line 1)

seen_before = set()
phase_start = {}
distinctive = collections.Counter()
for line in sorted(rows, key=lambda n: (int(rows[n]["time"]), n)):
    r = rows[line]
    lab = r["time_label"]
    if lab != "false_positive":
        phase_start.setdefault(lab, int(r["time"]))
        if r["name"] not in seen_before:
            distinctive[lab] += 1
    seen_before.add(r["name"])

fp_human = fp_auto = alerts = 0
phase_total = collections.Counter()
phase_esc = collections.Counter()
for l in open(asgp):
    a = json.loads(l)
    r = rows.get(a["line"])
    if r is None:
        continue
    alerts += 1
    i = inc.get(a["incident"])
    human = i is None or i["escalation"] != "auto_close"  # a rejected record is a human's problem too
    lab = r["time_label"]
    if lab == "false_positive":
        if human:
            fp_human += 1
        else:
            fp_auto += 1
    else:
        phase_total[lab] += 1
        if human:
            phase_esc[lab] += 1

fp = fp_human + fp_auto
escalated = sum(1 for i in inc.values() if i["escalation"] != "auto_close")
phases = {
    p: {"alerts": phase_total[p], "escalated_alerts": phase_esc[p], "distinctive_alerts": distinctive[p],
        "escalated": phase_esc[p] > 0}
    for p in sorted(phase_total, key=lambda p: phase_start[p])
}
report = {
    "alerts": alerts, "incidents": len(inc), "escalated_incidents": escalated,
    "alerts_per_incident": round(alerts / max(len(inc), 1), 1),
    "false_positive_alerts": fp, "fp_handled_without_human": fp_auto, "fp_to_humans": fp_human,
    "fp_handled_share": round(fp_auto / max(fp, 1), 4),
    "phases": phases,
}
if as_json:
    print(json.dumps(report))
else:
    print(f"alerts {alerts}, incidents {len(inc)} ({escalated} escalated), {report['alerts_per_incident']} alerts/incident")
    print(f"false-positive alerts {fp}: {fp_auto} handled without a human ({100*report['fp_handled_share']:.1f}%), {fp_human} to humans")
    for p, v in phases.items():
        flag = "escalated" if v["escalated"] else ("NOT escalated" + ("" if v["distinctive_alerts"] else " (no distinctive alert in the phase)"))
        print(f"  {p:22} {v['alerts']:7} alerts, {v['escalated_alerts']:7} in escalated incidents, {v['distinctive_alerts']:5} distinctive: {flag}")
