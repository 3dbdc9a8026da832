#!/usr/bin/env python3
"""Presidio's pattern recognizers over the corpus texts, in `sluice scan --json` format.

    presidio_scan.py DIR/texts.jsonl [--threshold 0.0] [--no-context] [--stats FILE] > presidio.jsonl

Runs presidio-analyzer (pip install presidio-analyzer) with no NER model and no model download:
an AnalyzerEngine whose registry holds only these predefined pattern recognizers, each mapped to
the scan format's type names:
    CreditCardRecognizer -> CREDIT_CARD      UsSsnRecognizer -> US_SSN
    IbanRecognizer (IBAN_CODE) -> IBAN       AbaRoutingRecognizer (ABA_ROUTING_NUMBER) -> US_BANK_ROUTING
    UkNinoRecognizer -> UK_NINO              CaSinRecognizer -> CA_SIN
    EmailRecognizer -> EMAIL_ADDRESS         PhoneRecognizer -> PHONE_NUMBER (phonenumbers, default regions)
    IpRecognizer -> IP_ADDRESS
UsBankRecognizer is left out: it finds bank *account* numbers (US_BANK_NUMBER), a type the corpus
does not plant, and would only add false positives. Presidio has no recognizers for SWIFT/BIC or
secrets (AWS keys, private keys, tokens, JWTs); those rows are not Presidio's to score.

Context: Presidio raises a score when context words are near a match, using lemmas from its NLP
engine. The engine here is spaCy's blank English tokenizer (bundled with spaCy, nothing to
download) plus a one-line component that sets each token's lemma to its lower-cased text, so the
recognizers' context words still work (--no-context turns the enhancer's input off).

Threshold: a result is written when its final score >= --threshold (default 0.0, the
AnalyzerEngine's own default). Each finding carries "score" and a "confidence" (low < 0.4 <=
medium < 0.7 <= high), so score.py --min-confidence medium scores Presidio at 0.4.

Speed: analysis time only (not imports or set-up), over the characters of every text, printed on
stderr and written to --stats as JSON.
"""

import argparse
import json
import sys
import time

try:
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer import predefined_recognizers as pr
    from spacy.language import Language
except ImportError as e:
    sys.exit(f"presidio_scan.py needs presidio-analyzer (pip install presidio-analyzer): {e}")

TYPE_MAP = {"CREDIT_CARD": "CREDIT_CARD", "US_SSN": "US_SSN", "IBAN_CODE": "IBAN",
            "ABA_ROUTING_NUMBER": "US_BANK_ROUTING", "UK_NINO": "UK_NINO", "CA_SIN": "CA_SIN",
            "EMAIL_ADDRESS": "EMAIL_ADDRESS", "PHONE_NUMBER": "PHONE_NUMBER", "IP_ADDRESS": "IP_ADDRESS"}
RECOGNIZERS = ["CreditCardRecognizer", "UsSsnRecognizer", "IbanRecognizer", "AbaRoutingRecognizer",
               "UkNinoRecognizer", "CaSinRecognizer", "EmailRecognizer", "PhoneRecognizer", "IpRecognizer"]


@Language.component("lower_lemma")
def lower_lemma(doc):
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class BlankEngine(SpacyNlpEngine):
    """spaCy's blank English pipeline (no model), lemmas = lower-cased tokens (or none)."""

    def __init__(self, lemmas: bool):
        super().__init__(models=[{"lang_code": "en", "model_name": "blank:en"}])
        nlp = spacy.blank("en")
        if lemmas:
            nlp.add_pipe("lower_lemma")
        self.nlp = {"en": nlp}

    def load(self):
        pass

    def is_loaded(self):
        return True


def engine(context: bool) -> AnalyzerEngine:
    # Offline: the e-mail recognizer checks TLDs with tldextract; use its bundled suffix list
    # instead of fetching one.
    offline = tldextract.TLDExtract(suffix_list_urls=())
    tldextract.extract = offline
    registry = RecognizerRegistry(supported_languages=["en"])
    for name in RECOGNIZERS:
        registry.add_recognizer(getattr(pr, name)())
    return AnalyzerEngine(registry=registry, nlp_engine=BlankEngine(context), supported_languages=["en"])


def confidence(score: float) -> str:
    return "low" if score < 0.4 else "medium" if score < 0.7 else "high"


def main():
    ap = argparse.ArgumentParser(description="Presidio pattern recognizers over corpus texts.")
    ap.add_argument("texts", help="DIR/texts.jsonl from gen_corpus.py")
    ap.add_argument("--threshold", type=float, default=0.0, help="minimum final score (default 0.0)")
    ap.add_argument("--no-context", action="store_true", help="no lemmas: context words never count")
    ap.add_argument("--stats", help="write {texts, chars, seconds, chars_per_sec} as JSON here")
    args = ap.parse_args()
    analyzer = engine(not args.no_context)
    entities = list(TYPE_MAP)
    n_texts = chars = 0
    elapsed = 0.0
    out = sys.stdout
    with open(args.texts, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            for t in rec["texts"]:
                text = t["text"]
                started = time.perf_counter()
                results = analyzer.analyze(text=text, language="en", entities=entities,
                                           score_threshold=args.threshold)
                elapsed += time.perf_counter() - started
                n_texts += 1
                chars += len(text)
                for r in results:
                    out.write(json.dumps({
                        "file": rec["file"], "type": TYPE_MAP.get(r.entity_type, r.entity_type),
                        "value": text[r.start:r.end], "location": t["location"],
                        "detector": "presidio:" + (r.recognition_metadata or {}).get("recognizer_name", "?"),
                        "policy": None, "confidence": confidence(r.score), "score": round(r.score, 3),
                    }, ensure_ascii=False) + "\n")
    rate = chars / elapsed if elapsed else 0.0
    print(f"presidio: {n_texts} texts, {chars} chars in {elapsed:.2f} s = {rate:,.0f} chars/s "
          f"(analysis only, 1 thread)", file=sys.stderr)
    if args.stats:
        with open(args.stats, "w", encoding="utf-8") as f:
            json.dump({"texts": n_texts, "chars": chars, "seconds": round(elapsed, 3),
                       "chars_per_sec": round(rate, 1), "threshold": args.threshold,
                       "context": not args.no_context, "recognizers": RECOGNIZERS}, f)


if __name__ == "__main__":
    main()
