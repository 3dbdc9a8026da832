#!/usr/bin/env python3
"""Score `sluice scan --json --show-matches` findings (or presidio_scan.py's) against corpus labels.

    score.py --labels DIR/labels.jsonl --findings F.jsonl [--name sluice] [--json]
             [--min-confidence low|medium|high] [--show-errors N]

Per identifier type: TP, FP, FN, precision, recall, F1. Matching rule: same file (compared by
file name, so `DIR/00001.eml` and `00001.eml` agree), same type, same normalised value; each
(file, type, value) counts once however often it is reported or planted:
  - digits only for CREDIT_CARD, US_SSN, US_BANK_ROUTING, CA_SIN and PHONE_NUMBER (a NANP number's
    leading country code 1 is dropped);
  - upper case without spaces or dashes for IBAN, SWIFT_BIC, UK_NINO; lower case for EMAIL_ADDRESS;
  - the canonical text of the address for IP_ADDRESS (IPv6 compressed, brackets and :port dropped);
  - PRIVATE_KEY: one per message (the generator plants at most one), whatever part of the block is
    reported;
  - any other type: the value with surrounding whitespace removed.
The location need not match; TPs whose reported locations all disagree with the label are counted
separately. Findings in `header:*` locations other than Subject are ignored (From/To addresses are
not planted items), as are findings of values the labels list under "ignore" (addresses in the
headers of an attached message). A finding of an unlabelled type is an FP of that type.
Precision with no findings is 1.0 when nothing was planted and 0.0 otherwise (recall likewise).
Output: a table (default) or one JSON object (--json).
"""

import argparse
import collections
import ipaddress
import json
import os
import re
import sys

TYPES = ["CREDIT_CARD", "US_SSN", "IBAN", "SWIFT_BIC", "US_BANK_ROUTING", "UK_NINO", "CA_SIN", "EMAIL_ADDRESS",
         "PHONE_NUMBER", "IP_ADDRESS", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "PRIVATE_KEY", "GITHUB_TOKEN",
         "SLACK_TOKEN", "JWT"]
DIGIT_TYPES = {"CREDIT_CARD", "US_SSN", "US_BANK_ROUTING", "CA_SIN", "PHONE_NUMBER"}
ALNUM_TYPES = {"IBAN", "SWIFT_BIC", "UK_NINO"}
CONFIDENCE = {"low": 0, "medium": 1, "high": 2}


def normalise(kind: str, value: str) -> str:
    """The comparison key of a value of identifier `kind` (see the module doc)."""
    v = value.strip()
    if kind in DIGIT_TYPES:
        d = re.sub(r"\D", "", v)
        if kind == "PHONE_NUMBER" and len(d) == 11 and d[0] == "1":
            d = d[1:]
        return d
    if kind in ALNUM_TYPES:
        return re.sub(r"[^0-9A-Za-z]", "", v).upper()
    if kind == "EMAIL_ADDRESS":
        v = v.strip("<>").lower()
        return v[7:] if v.startswith("mailto:") else v
    if kind == "IP_ADDRESS":
        return canonical_ip(v)
    if kind == "PRIVATE_KEY":
        return "PRIVATE KEY"
    return v


def canonical_ip(v: str) -> str:
    candidates = [v, v.strip("[]")]
    m = re.fullmatch(r"\[?([0-9A-Fa-f:.]+?)\]?:\d{1,5}", v)
    if m:
        candidates.append(m.group(1))
    for c in candidates:
        try:
            return str(ipaddress.ip_address(c.split("%")[0]))
        except ValueError:
            continue
    return v


def ignored_location(location: str) -> bool:
    """Header findings other than Subject, at the top level or inside an attached message."""
    for comp in location.lower().split("/"):
        if comp.startswith("header:") and comp != "header:subject":
            return True
    return False


def location_agrees(label: str, found: str) -> bool:
    """Lenient: equal, inside the labelled location, or the same kind of place with the same file
    name at the end (container paths may be spelled differently)."""
    label, found = label.lower(), found.lower()
    if found == label or found.startswith(label + "/"):
        return True
    if found in ("header:subject", "subject") and label == "subject":
        return True
    if label.startswith("attachment:") and found.startswith("attachment:"):
        return label.rsplit("/", 1)[-1] == found.rsplit("/", 1)[-1]
    return False


def ratio(num, den, empty):
    return num / den if den else empty


def metrics(tp, fp, fn):
    p = ratio(tp, tp + fp, 1.0 if fn == 0 else 0.0)
    r = ratio(tp, tp + fn, 1.0 if fp == 0 else 0.0)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


def load_labels(path):
    truth = {}  # (file, type, norm) -> label item
    # file -> [(decoy kind or "item:<TYPE>", alphanumerics of the value)], to explain false positives
    decoys = collections.defaultdict(list)
    ignore = set()
    files = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            name = os.path.basename(rec["file"])
            files.add(name)
            for it in rec["items"]:
                truth.setdefault((name, it["type"], normalise(it["type"], it["value"])), it)
                decoys[name].append(("item:" + it["type"], re.sub(r"[^0-9A-Za-z]", "", it["value"]).upper()))
            for d in rec.get("decoys", []):
                decoys[name].append((d["kind"], re.sub(r"[^0-9A-Za-z]", "", d["value"]).upper()))
            for it in rec.get("ignore", []):
                ignore.add((name, it["type"], normalise(it["type"], it["value"])))
    return truth, decoys, ignore, files


def load_findings(path, min_conf):
    found = collections.defaultdict(list)  # (file, type, norm) -> [finding]
    counts = collections.Counter()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if rec.get("kind", "finding") != "finding":
                    continue  # anomalies and policy verdicts: not identifier findings
                name, kind, value = os.path.basename(rec["file"]), rec["type"], rec["value"]
                location = rec.get("location") or ""
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"score.py: {path}:{n}: not a finding ({e}): {line[:120]!r}")
            counts["findings"] += 1
            if ignored_location(location):
                counts["ignored_header"] += 1
                continue
            conf = rec.get("confidence")
            if conf in CONFIDENCE and CONFIDENCE[conf] < min_conf:
                counts["below_confidence"] += 1
                continue
            found[(name, kind, normalise(kind, value))].append(rec)
    return found, counts


def score(labels_path, findings_path, name="sluice", min_confidence="low"):
    """The summary object (what --json prints)."""
    truth, decoys, ignore, files = load_labels(labels_path)
    found, counts = load_findings(findings_path, CONFIDENCE[min_confidence])
    for key in list(found):
        if key in ignore and key not in truth:
            counts["ignored_unplanted"] += 1
            del found[key]
    unknown = {k[0] for k in found if k[0] not in files}
    tp_keys = truth.keys() & found.keys()
    fp_keys = found.keys() - truth.keys()
    fn_keys = truth.keys() - found.keys()
    kinds = [t for t in TYPES if any(k[1] == t for k in truth.keys() | found.keys())]
    kinds += sorted({k[1] for k in found} - set(TYPES))
    per_type = {}
    for t in kinds:
        per_type[t] = metrics(sum(k[1] == t for k in tp_keys), sum(k[1] == t for k in fp_keys),
                              sum(k[1] == t for k in fn_keys))
    by_part, by_context = collections.defaultdict(lambda: [0, 0]), collections.defaultdict(lambda: [0, 0])
    mismatches = []
    for key, item in truth.items():
        hit = key in tp_keys
        ctx = item.get("context")
        ctx = "context elsewhere in the message" if ctx == "message" else "with context" if ctx \
            else "without context"
        for table, k in ((by_part, item.get("part", "?")), (by_context, ctx)):
            table[k][0] += hit
            table[k][1] += 1
        if hit and not any(location_agrees(item["location"], f.get("location") or "") for f in found[key]):
            mismatches.append({"file": key[0], "type": key[1], "label": item["location"],
                               "found": sorted({f.get("location") or "" for f in found[key]})})
    fp_decoys = collections.Counter()
    for key in fp_keys:
        alnum = re.sub(r"[^0-9A-Za-z]", "", found[key][0]["value"]).upper()
        near = [(k, d) for k, d in decoys.get(key[0], []) if alnum and k != "item:" + key[1]]
        kind = next((k for k, d in near if alnum == d), None) or \
            next((k for k, d in near if alnum in d or d in alnum), "other")
        fp_decoys[kind] += 1
    return {
        "name": name, "messages": len(files), "labelled_items": len(truth), "findings": counts["findings"],
        "min_confidence": min_confidence,
        "ignored": {"header_not_subject": counts["ignored_header"], "unplanted_values": counts["ignored_unplanted"],
                    "below_confidence": counts["below_confidence"]},
        "unknown_files": len(unknown),
        "types": per_type,
        "overall": metrics(len(tp_keys), len(fp_keys), len(fn_keys)),
        "location_mismatches": len(mismatches),
        "location_mismatch_examples": mismatches[:5],
        "recall_by_location": {k: {"tp": v[0], "total": v[1], "recall": round(v[0] / v[1], 4)}
                               for k, v in sorted(by_part.items())},
        "recall_by_context": {k: {"tp": v[0], "total": v[1], "recall": round(v[0] / v[1], 4)}
                              for k, v in sorted(by_context.items())},
        "false_positives_on_decoys": dict(fp_decoys.most_common()),
        "_errors": {"fp": sorted(fp_keys), "fn": sorted(fn_keys), "found": found, "truth": truth},
    }


def table(s) -> str:
    ig = s["ignored"]
    lines = [f"{s['name']}: {s['messages']} messages, {s['labelled_items']} labelled items, {s['findings']} findings "
             f"({ig['header_not_subject']} in headers other than Subject ignored, {ig['unplanted_values']} of "
             f"unplanted values ignored, {ig['below_confidence']} below {s['min_confidence']} confidence)"]
    if s["unknown_files"]:
        lines.append(f"WARNING: findings for {s['unknown_files']} files the labels do not know (counted as FP)")
    lines.append(f"{'type':<16}{'TP':>6}{'FP':>6}{'FN':>6}{'precision':>11}{'recall':>8}{'F1':>8}")
    for t, m in list(s["types"].items()) + [("all (micro)", s["overall"])]:
        lines.append(f"{t:<16}{m['tp']:>6}{m['fp']:>6}{m['fn']:>6}{m['precision']:>11.3f}{m['recall']:>8.3f}"
                     f"{m['f1']:>8.3f}")
    lines.append(f"location differs from the label (not an error): {s['location_mismatches']} of "
                 f"{s['overall']['tp']} true positives")
    lines.append("recall by location: " + ", ".join(f"{k} {v['recall']:.3f} ({v['tp']}/{v['total']})"
                                                    for k, v in s["recall_by_location"].items()))
    lines.append("recall by context: " + ", ".join(f"{k} {v['recall']:.3f} ({v['tp']}/{v['total']})"
                                                   for k, v in s["recall_by_context"].items()))
    if s["false_positives_on_decoys"]:
        lines.append("false positives by what they hit (decoy kind, or item:TYPE for another type's value): " + ", ".join(
            f"{k} {n}" for k, n in s["false_positives_on_decoys"].items()))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="Score scan findings against corpus labels.")
    ap.add_argument("--labels", required=True)
    ap.add_argument("--findings", required=True)
    ap.add_argument("--name", default="sluice")
    ap.add_argument("--json", action="store_true", help="print one JSON summary object")
    ap.add_argument("--min-confidence", choices=list(CONFIDENCE), default="low",
                    help="drop findings below this confidence (findings without one are kept)")
    ap.add_argument("--show-errors", type=int, default=0, metavar="N",
                    help="also list up to N false positives and N false negatives (on stderr)")
    args = ap.parse_args()
    s = score(args.labels, args.findings, args.name, args.min_confidence)
    errors = s.pop("_errors")
    if args.show_errors:
        for key in errors["fp"][: args.show_errors]:
            f = errors["found"][key][0]
            print(f"FP {key[0]} {key[1]} {f['value']!r} at {f.get('location')}", file=sys.stderr)
        for key in errors["fn"][: args.show_errors]:
            it = errors["truth"][key]
            print(f"FN {key[0]} {key[1]} {it['value'][:80]!r} at {it['location']}", file=sys.stderr)
    print(json.dumps(s, sort_keys=False) if args.json else table(s))


if __name__ == "__main__":
    main()
