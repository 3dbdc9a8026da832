#!/usr/bin/env python3
"""Hyperscan (PyPI `hyperscan`) over the corpus texts, for a speed reference next to Presidio.

    hyperscan_scan.py DIR/texts.jsonl [--stats FILE]

Compiles the regexes of the same Presidio pattern recognizers presidio_scan.py runs (taken from
presidio-analyzer itself, so both scan for the same things) into one Hyperscan database, with the
flags Presidio gives Python's `re` (case-insensitive, dot-all, multi-line). Patterns Hyperscan
cannot compile exactly (look-arounds, back-references) are compiled in prefilter mode, which may
over-match. The phone recognizer uses the phonenumbers library, not a regex, so it has no
counterpart here.

Hyperscan only finds pattern candidates: no checksum validation, no context words, no scores. So
its matches are counted, not scored; this measures what a regex engine alone costs on the text.

Speed: scanning time only (not imports or compilation), over the characters of every text, one
thread, printed on stderr and written to --stats as JSON.
"""

import argparse
import json
import sys
import time

try:
    import hyperscan
except ImportError as e:
    sys.exit(f"hyperscan_scan.py needs the Hyperscan bindings (pip install hyperscan): {e}")
try:
    from presidio_analyzer import predefined_recognizers as pr
except ImportError as e:
    sys.exit(f"hyperscan_scan.py needs presidio-analyzer for its patterns: {e}")

# The recognizers of presidio_scan.py.
RECOGNIZERS = ["CreditCardRecognizer", "UsSsnRecognizer", "IbanRecognizer", "AbaRoutingRecognizer",
               "UkNinoRecognizer", "CaSinRecognizer", "EmailRecognizer", "PhoneRecognizer", "IpRecognizer"]
BASE = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_DOTALL | hyperscan.HS_FLAG_MULTILINE


def patterns():
    """(name, regex) of every pattern of the recognizers."""
    out = []
    for name in RECOGNIZERS:
        rec = getattr(pr, name)()
        for p in getattr(rec, "patterns", None) or []:
            out.append((f"{name}:{p.name}", p.regex))
    return out


def compiles(regex: str, flags: int) -> bool:
    db = hyperscan.Database()
    try:
        db.compile(expressions=[regex.encode()], ids=[0], flags=[flags])
        return True
    except hyperscan.error:
        return False


def database(pats):
    """One block-mode database; each pattern exact (leftmost start) if possible, else prefilter."""
    exprs, ids, flags, prefilter = [], [], [], []
    for i, (name, regex) in enumerate(pats):
        exact = BASE | hyperscan.HS_FLAG_SOM_LEFTMOST
        if compiles(regex, exact):
            f = exact
        elif compiles(regex, BASE | hyperscan.HS_FLAG_PREFILTER):
            f = BASE | hyperscan.HS_FLAG_PREFILTER
            prefilter.append(name)
        else:
            print(f"hyperscan: cannot compile {name}, left out", file=sys.stderr)
            continue
        exprs.append(regex.encode())
        ids.append(i)
        flags.append(f)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=exprs, ids=ids, flags=flags)
    return db, len(exprs), prefilter


def main():
    ap = argparse.ArgumentParser(description="Hyperscan over corpus texts (speed reference).")
    ap.add_argument("texts", help="DIR/texts.jsonl from gen_corpus.py")
    ap.add_argument("--stats", help="write {texts, chars, bytes, seconds, matches, ...} as JSON here")
    args = ap.parse_args()
    pats = patterns()
    db, compiled, prefilter = database(pats)
    texts = []
    with open(args.texts, encoding="utf-8") as f:
        for line in f:
            for t in json.loads(line)["texts"]:
                texts.append(t["text"])
    chars = sum(len(t) for t in texts)
    data = [t.encode("utf-8") for t in texts]
    matches = 0

    def on_match(_id, _from, _to, _flags, _ctx):
        nonlocal matches
        matches += 1

    started = time.perf_counter()
    for d in data:
        db.scan(d, match_event_handler=on_match)
    elapsed = time.perf_counter() - started
    size = sum(len(d) for d in data)
    rate = chars / elapsed if elapsed else 0.0
    print(f"hyperscan: {len(texts)} texts, {chars} chars in {elapsed:.3f} s = {rate:,.0f} chars/s "
          f"({compiled} of Presidio's regexes, {len(prefilter)} in prefilter mode; "
          f"{matches} candidate matches, 1 thread)", file=sys.stderr)
    if args.stats:
        with open(args.stats, "w", encoding="utf-8") as f:
            json.dump({"texts": len(texts), "chars": chars, "bytes": size, "seconds": round(elapsed, 4),
                       "chars_per_sec": round(rate, 1), "patterns": compiled,
                       "prefilter": prefilter, "matches": matches}, f)


if __name__ == "__main__":
    main()
