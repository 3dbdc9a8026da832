"""Tests of the evaluation tools themselves: validators, generator (determinism, labels that match
the bytes), scorer (numbers checked by hand). Run: python3 -m unittest discover -s benches/eval
(tests/eval.rs runs them too). Needs Faker."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import score  # noqa: E402
import validators as V  # noqa: E402


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(HERE, script), *args], check=True,
                          capture_output=True, text=True).stdout


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


class ValidatorTests(unittest.TestCase):
    def test_cards(self):
        self.assertTrue(V.validate("CREDIT_CARD", "4111 1111 1111 1111"))
        self.assertTrue(V.validate("CREDIT_CARD", "3782-822463-10005"))
        self.assertFalse(V.validate("CREDIT_CARD", "4111 1111 1111 1112"))  # Luhn
        self.assertFalse(V.validate("CREDIT_CARD", "9111111111111111"))  # no issuer starts with 9... and Luhn

    def test_ssn(self):
        self.assertTrue(V.ssn_ok("536225841"))
        for bad in ("000123456", "666123456", "912345678", "078051120", "123004567", "123450000"):
            self.assertFalse(V.ssn_ok(bad), bad)

    def test_iban(self):
        self.assertTrue(V.iban_ok("GB82 WEST 1234 5698 7654 32"))
        self.assertTrue(V.iban_ok("DE89370400440532013000"))
        self.assertFalse(V.iban_ok("GB83 WEST 1234 5698 7654 32"))  # check digits
        self.assertFalse(V.iban_ok("DE8937040044053201300"))  # length for DE

    def test_aba_sin_nino(self):
        self.assertTrue(V.aba_ok("021000021"))
        self.assertFalse(V.aba_ok("021000022"))
        self.assertFalse(V.aba_ok("991000021"))  # prefix 99 is not a Federal Reserve range
        self.assertTrue(V.sin_ok("130692544"))
        self.assertFalse(V.sin_ok("130692545"))  # Luhn
        self.assertFalse(V.sin_ok("046454286"))  # the government's sample: first digit 0 is never issued
        self.assertTrue(V.nino_ok("AB 12 34 56 C"))
        for bad in ("ZZ123456A", "AB123456E", "DA123456A", "AO123456A", "GB123456A"):
            self.assertFalse(V.nino_ok(bad), bad)

    def test_phones(self):
        self.assertTrue(V.validate("PHONE_NUMBER", "(212) 456-7890"))
        self.assertTrue(V.validate("PHONE_NUMBER", "+44 20 7946 0123"))
        self.assertFalse(V.validate("PHONE_NUMBER", "(111) 456-7890"))  # area starts with 1
        self.assertFalse(V.validate("PHONE_NUMBER", "(212) 555-7890"))  # 555 exchange
        self.assertFalse(V.validate("PHONE_NUMBER", "(411) 456-7890"))  # N11


class GeneratorTests(unittest.TestCase):
    def test_same_seed_same_bytes_and_labels_match_the_bytes(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b, c = (os.path.join(tmp, x) for x in "abc")
            run("gen_corpus.py", "--out", a, "--count", "120", "--seed", "5")
            run("gen_corpus.py", "--out", b, "--count", "120", "--seed", "5")
            run("gen_corpus.py", "--out", c, "--count", "120", "--seed", "6")
            for name in sorted(os.listdir(a)):
                if name == "summary.json":
                    continue
                with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
                    self.assertEqual(fa.read(), fb.read(), name)
            with open(os.path.join(a, "00001.eml"), "rb") as fa, open(os.path.join(c, "00001.eml"), "rb") as fc:
                self.assertNotEqual(fa.read(), fc.read())
            out = run("check_corpus.py", a)
            self.assertIn(" 0 missing", out)


    def test_issue_10_cases_are_planted(self):
        """Routing numbers and SINs with their word only in the other half of the message, and
        SSN-valid customer ids beside identity words as hard negatives."""
        with tempfile.TemporaryDirectory() as tmp:
            run("gen_corpus.py", "--out", tmp, "--count", "400", "--seed", "3")
            with open(os.path.join(tmp, "labels.jsonl"), encoding="utf-8") as f:
                labels = [json.loads(line) for line in f]
            elsewhere = [(i["type"], i["part"]) for lab in labels for i in lab["items"] if i["context"] == "message"]
            self.assertIn(("US_BANK_ROUTING", "subject"), elsewhere)
            self.assertTrue(any(t == "CA_SIN" for t, _ in elsewhere))
            self.assertTrue(any(p != "subject" for _, p in elsewhere))
            ids = [d["value"] for lab in labels for d in lab["decoys"] if d["kind"] == "customer_id_ssn_words"]
            self.assertTrue(ids)
            for v in ids:
                self.assertEqual(V.nine_digit_types(v), {"US_SSN"}, v)


class ScorerTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.labels = os.path.join(self.tmp.name, "labels.jsonl")
        self.findings = os.path.join(self.tmp.name, "findings.jsonl")

    def tearDown(self):
        self.tmp.cleanup()

    def test_numbers_by_hand(self):
        write_jsonl(self.labels, [
            {"file": "00001.eml", "items": [
                {"type": "CREDIT_CARD", "value": "4111 1111 1111 1111", "location": "body", "part": "plain-7bit"},
                {"type": "IBAN", "value": "GB82 WEST 1234 5698 7654 32", "location": "attachment:a.zip/notes.txt",
                 "part": "zip-txt"}],
             "decoys": [{"kind": "luhn_fail_card", "value": "4111 1111 1111 1112", "location": "body"}],
             "ignore": [{"type": "EMAIL_ADDRESS", "value": "x@example.com", "location": "attachment:f.eml"}]},
            {"file": "00002.eml", "items": [
                {"type": "US_SSN", "value": "536-22-5841", "location": "subject", "part": "subject"},
                {"type": "EMAIL_ADDRESS", "value": "Ann@Example.com", "location": "body", "part": "html"}],
             "decoys": [], "ignore": []},
        ])

        def f(file, kind, value, location="body"):
            return {"file": file, "type": kind, "value": value, "location": location, "detector": "t",
                    "policy": None, "confidence": "high"}

        write_jsonl(self.findings, [
            f("corpus/00001.eml", "CREDIT_CARD", "4111-1111-1111-1111"),  # TP (separators differ)
            f("corpus/00001.eml", "CREDIT_CARD", "4111111111111111", "attachment:x.docx"),  # same TP again
            f("corpus/00001.eml", "IBAN", "gb82west12345698765432", "attachment:a.zip/inner/notes.txt"),  # TP
            f("corpus/00001.eml", "CREDIT_CARD", "4111 1111 1111 1112"),  # FP on a decoy
            f("corpus/00001.eml", "EMAIL_ADDRESS", "x@example.com", "attachment:f.eml"),  # ignored: unplanted
            f("corpus/00001.eml", "EMAIL_ADDRESS", "boss@corp.example", "header:From"),  # ignored: header
            f("corpus/00002.eml", "US_SSN", "536225841", "header:Subject"),  # TP, location agrees
            f("corpus/00002.eml", "EMAIL_ADDRESS", "ann@example.com", "attachment:y.pdf"),  # TP, location differs
            f("corpus/00002.eml", "JWT", "eyJ.eyJ.sig"),  # FP of an unlabelled type
        ])
        s = score.score(self.labels, self.findings)
        t = s["types"]
        self.assertEqual((t["CREDIT_CARD"]["tp"], t["CREDIT_CARD"]["fp"], t["CREDIT_CARD"]["fn"]), (1, 1, 0))
        self.assertEqual(t["CREDIT_CARD"]["precision"], 0.5)
        self.assertEqual((t["IBAN"]["tp"], t["IBAN"]["fp"], t["IBAN"]["fn"]), (1, 0, 0))
        self.assertEqual((t["US_SSN"]["tp"], t["EMAIL_ADDRESS"]["tp"], t["EMAIL_ADDRESS"]["fp"]), (1, 1, 0))
        self.assertEqual((t["JWT"]["tp"], t["JWT"]["fp"], t["JWT"]["fn"]), (0, 1, 0))
        self.assertEqual(t["JWT"]["precision"], 0.0)
        self.assertEqual((s["overall"]["tp"], s["overall"]["fp"], s["overall"]["fn"]), (4, 2, 0))
        self.assertEqual(s["ignored"], {"header_not_subject": 1, "unplanted_values": 1, "below_confidence": 0})
        self.assertEqual(s["location_mismatches"], 1)  # the e-mail address: html body vs y.pdf
        self.assertEqual(s["false_positives_on_decoys"], {"luhn_fail_card": 1, "other": 1})

    def test_perfect_then_injected_errors_on_a_generated_corpus(self):
        corpus = os.path.join(self.tmp.name, "c")
        run("gen_corpus.py", "--out", corpus, "--count", "200", "--seed", "11")
        labels = os.path.join(corpus, "labels.jsonl")
        items = []
        with open(labels, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                items += [{"file": "c/" + rec["file"], **it} for it in rec["items"]]
        write_jsonl(self.findings, items)
        s = score.score(labels, self.findings)
        self.assertEqual(s["overall"]["fn"] + s["overall"]["fp"], 0)
        self.assertEqual(s["overall"]["tp"], len(items))
        self.assertTrue(all(m["f1"] == 1.0 for m in s["types"].values()))
        self.assertEqual(s["location_mismatches"], 0)

        cards = [it for it in items if it["type"] == "CREDIT_CARD"]
        kept = [it for it in items if it not in cards[:3]]  # 3 FN
        kept.append({**cards[0], "value": "4000 0000 0000 0002", "location": "body"})  # 1 FP
        write_jsonl(self.findings, kept)
        s = score.score(labels, self.findings)
        cc = s["types"]["CREDIT_CARD"]
        self.assertEqual((cc["tp"], cc["fp"], cc["fn"]), (len(cards) - 3, 1, 3))
        self.assertAlmostEqual(cc["recall"], round((len(cards) - 3) / len(cards), 4))
        self.assertAlmostEqual(cc["precision"], round((len(cards) - 3) / (len(cards) - 2), 4))

    def test_min_confidence_drops_low_findings(self):
        write_jsonl(self.labels, [{"file": "1.eml", "items": [], "decoys": [], "ignore": []}])
        write_jsonl(self.findings, [{"file": "1.eml", "type": "US_SSN", "value": "536-22-5841", "location": "body",
                                     "confidence": "low"}])
        self.assertEqual(score.score(self.labels, self.findings)["types"]["US_SSN"]["fp"], 1)
        s = score.score(self.labels, self.findings, min_confidence="medium")
        self.assertEqual(s["types"], {})
        self.assertEqual(s["ignored"]["below_confidence"], 1)

    def test_normalisation(self):
        self.assertEqual(score.normalise("PHONE_NUMBER", "+1 (212) 456-7890"), "2124567890")
        self.assertEqual(score.normalise("IP_ADDRESS", "2001:DB8:0:0:0:0:0:1"), "2001:db8::1")
        self.assertEqual(score.normalise("IP_ADDRESS", "203.0.113.5:443"), "203.0.113.5")
        self.assertEqual(score.normalise("UK_NINO", "ab 12 34 56 c"), "AB123456C")
        self.assertEqual(score.normalise("PRIVATE_KEY", "-----BEGIN EC PRIVATE KEY-----"), "PRIVATE KEY")


if __name__ == "__main__":
    unittest.main()
