#!/usr/bin/env python3
"""Labelled evaluation corpus for Sluice's detection engine (issue 3, "How it is shown").

    gen_corpus.py --out DIR --count N --seed S

writes DIR/00001.eml ... (RFC 5322, CRLF), DIR/labels.jsonl (per message: every planted item
with its type, exact value as written, location in `sluice scan --json` format, the part kind and
whether context words were near it (true, false, or "message": only in the other half of the
message, subject or body); every decoy; values present but not planted, to ignore),
DIR/texts.jsonl (per message and location, the plain text a perfect decomposer extracts: the input
of presidio_scan.py) and DIR/summary.json, and prints a summary. Same seed and count -> same bytes.

About half the messages carry 1-4 items; every message carries 1-3 hard negatives. Items and
decoys land in every location: subject (sometimes RFC 2047), text/plain body (7bit/8bit,
quoted-printable, base64), text/html, multipart/alternative, and attachments: txt, csv, docx, xlsx,
pptx, odt, rtf, zip (a .txt and a nested .zip), tar.gz, pdf and an attached message/rfc822.
Needs Python 3.9+ and Faker (`pip install faker`).
"""

import argparse
import base64
import collections
import datetime
import email.utils
import json
import os
import quopri
import random
import sys
import time
from email.header import Header

try:
    from faker import Faker
except ImportError:
    sys.exit("gen_corpus.py needs Faker: pip install faker")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import formats as F  # noqa: E402
import phrases as P  # noqa: E402
import validators as V  # noqa: E402
from values import Values  # noqa: E402

# Planting weights: the checksum identifiers and the common PII types the tests assert on come
# first; secrets less often.
TYPE_WEIGHTS = {
    "CREDIT_CARD": 10, "US_SSN": 10, "IBAN": 10, "US_BANK_ROUTING": 9, "UK_NINO": 9, "CA_SIN": 9,
    "EMAIL_ADDRESS": 9, "PHONE_NUMBER": 9, "IP_ADDRESS": 8, "AWS_ACCESS_KEY": 7, "SWIFT_BIC": 4,
    "AWS_SECRET_KEY": 3, "GITHUB_TOKEN": 3, "SLACK_TOKEN": 3, "JWT": 3, "PRIVATE_KEY": 2,
}
ATTACHMENT_KINDS = ["txt", "csv", "docx", "xlsx", "pptx", "odt", "rtf", "zip", "targz", "pdf", "rfc822"]
# Slots that keep line breaks, where a multi-line PEM block can go.
PRE_SLOTS = {"plain-7bit", "plain-qp", "plain-base64", "html", "alternative", "txt", "zip-txt", "zip-nested",
             "targz", "rfc822"}
TABLE_SLOTS = {"csv", "xlsx"}
NAMES = {
    "txt": ["notes.txt", "details.txt", "readme.txt", "export.txt"],
    "csv": ["customers.csv", "export.csv", "payroll.csv", "records.csv"],
    "docx": ["Report.docx", "onboarding.docx", "contract.docx", "Minutes.docx"],
    "xlsx": ["accounts.xlsx", "Q3 figures.xlsx", "staff.xlsx"],
    "pptx": ["review.pptx", "Kickoff.pptx"], "odt": ["letter.odt", "form.odt"], "rtf": ["memo.rtf", "statement.rtf"],
    "zip": ["documents.zip", "archive.zip", "files.zip"], "targz": ["logs.tar.gz", "backup.tar.gz"],
    "pdf": ["statement.pdf", "invoice.pdf", "scan.pdf"], "rfc822": ["forwarded.eml", "original message.eml"],
}
CHARSETS = ["utf-8", "utf-8", "iso-8859-1", "windows-1252"]
BASE_DATE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


# Types whose values are indistinguishable from other numbers or words without a context word: a
# bare 9-digit number is no more a routing number than an order number, and an 8-letter upper-case
# word is no more a BIC than a product code. Real mail names them ("routing number", "BIC"), and
# so does the corpus; every other type is planted without context about 30% of the time.
NEEDS_CONTEXT = {"AWS_SECRET_KEY", "US_BANK_ROUTING", "SWIFT_BIC"}


class Slot:
    """One place a value can be written: its part kind, scan-format location and content."""

    def __init__(self, part, location):
        self.part = part
        self.location = location
        self.entries = []  # (sentence with markers, table field)


class Composer:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fake = Faker(collections.OrderedDict([("en_US", 4), ("en_GB", 2), ("de_DE", 1), ("fr_FR", 1)]))
        self.fake.seed_instance(seed)
        self.values = Values(self.rng, self.fake)
        self.types = list(TYPE_WEIGHTS)
        self.weights = [TYPE_WEIGHTS[t] for t in self.types]

    # -------------------------------------------------------------- filler

    def person(self):
        first, last = self.fake.first_name(), self.fake.last_name()
        return first, f"{first} {last}"

    def fill(self, template: str, value: str) -> str:
        first, name = self.person()
        marked = F.VS + value.replace(" ", F.NB) + F.VE
        exp = f"{self.rng.randint(1, 12):02d}/{self.rng.randint(25, 31)}"
        return template.format(v=marked, name=name, first=first, company=self.fake.company(),
                               city=self.fake.city(), exp=exp, port=self.rng.choice([22, 443, 3389, 8080]))

    def filler_sentences(self, n: int) -> str:
        return " ".join(self.fake.sentence(nb_words=self.rng.randint(6, 16)) for _ in range(n))

    # -------------------------------------------------------------- planning

    def plan(self):
        """Body shape, attachments and slots of one message."""
        shape = self.rng.choices(["plain-7bit", "plain-qp", "plain-base64", "html", "alternative"],
                                 [35, 20, 15, 15, 15])[0]
        n_att = self.rng.choices([0, 1, 2], [35, 45, 20])[0]
        kinds = self.rng.sample(ATTACHMENT_KINDS, n_att)
        slots = {"subject": Slot("subject", "subject"), "body": Slot(shape, "body")}
        attachments = []
        for kind in kinds:
            name = self.rng.choice(NAMES[kind])
            attachments.append((kind, name))
            loc = f"attachment:{name}"
            if kind == "zip":
                slots["zip-txt"] = Slot("zip-txt", f"{loc}/notes.txt")
                slots["zip-nested"] = Slot("zip-nested", f"{loc}/inner.zip/deep.txt")
            elif kind == "targz":
                slots["targz"] = Slot("targz", f"{loc}/export/report.txt")
            else:
                slots[kind] = Slot(kind, loc)
        return shape, attachments, slots

    def pick_slot(self, slots, allowed):  # noqa: D102
        keys = [k for k in slots if allowed(k)]
        weights = [10 if k == "subject" else 35 if k == "body" else 55 / max(1, len(slots) - 2) for k in keys]
        return self.rng.choices(keys, weights)[0]

    def place_items(self, slots, items, decoys):
        n_items = self.rng.choice([1, 1, 2, 2, 3, 4]) if self.rng.random() < 0.5 else 0
        seen = set()
        while len(items) < n_items:
            kind = self.rng.choices(self.types, self.weights)[0]
            if kind == "PRIVATE_KEY" and "PRIVATE_KEY" in seen:
                continue  # one key per message: the scorer matches private keys per message
            context = self.rng.random() < 0.7 or kind in NEEDS_CONTEXT
            value = self.values.positive(kind, context)
            if not context and kind == "US_SSN" and value.isdigit():
                # An undelimited 9-digit number is an SSN only by its context (it is just as
                # likely a routing, order or account number): plant it with context, as mail has it.
                context = True
            key = (kind, value)
            if key in seen:
                continue
            seen.add(key)
            seen.add(kind)
            slot_key = self.pick_slot(slots, lambda k: self.item_fits(kind, k))
            slot = slots[slot_key]
            if kind in P.CONTEXT_ELSEWHERE and slot_key in ("subject", "body") and self.rng.random() < 0.3:
                # The value alone in one half of the message, its words in the other half.
                self.plant_elsewhere(slots, kind, value, slot_key)
                context = "message"
            else:
                slot.entries.append(self.item_entry(kind, value, context, slot_key))
            items.append({"type": kind, "value": value, "location": slot.location, "part": slot.part,
                          "context": context})
        for _ in range(self.rng.choice([1, 1, 2, 3])):
            kind = self.rng.choice(Values.DECOY_KINDS)
            value = self.values.decoy(kind)
            slot_key = self.pick_slot(slots, lambda k: kind != "public_key_pem" or k in PRE_SLOTS or k == "body")
            slot = slots[slot_key]
            hard = self.rng.random() < 0.5
            if slot_key == "subject" and kind == "version_ipv4_like":
                # A dotted quad alone in a subject is an IP address to any reader: a version
                # decoy says "version" there too.
                sentence = self.fill(self.rng.choice(P.DECOY_SUBJECT_VERSION), value)
            elif slot_key == "subject":
                sentence = self.fill(self.rng.choice(P.DECOY_SUBJECT), value)
            else:
                sentence = self.fill(self.rng.choice(P.DECOY_PROSE[kind][0 if hard else 1]), value)
            field = P.DECOY_FIELD[kind] if hard else self.rng.choice(P.NEUTRAL_FIELDS)
            if not hard:
                field = P.DECOY_FIELD_PLAIN.get(kind, field)
            slot.entries.append((sentence, field, value))
            decoys.append({"kind": kind, "value": value, "location": slot.location, "part": slot.part})

    def plant_elsewhere(self, slots, kind, value, slot_key):
        """`value` without a word in `slot_key` (subject or body); a sentence or phrase naming
        it in the other one. A subject phrase carries no value (`subject` joins entries)."""
        in_body, in_subject = P.CONTEXT_ELSEWHERE[kind]
        if slot_key == "subject":
            slots["subject"].entries.append((self.fill(self.rng.choice(P.SUBJECT_NO_CONTEXT), value), "", value))
            slots["body"].entries.append((self.rng.choice(in_body), "", ""))
        else:
            slots["body"].entries.append((self.fill(self.rng.choice(P.BARE_PROSE), value), "", value))
            slots["subject"].entries.append((self.rng.choice(in_subject), "", ""))

    def item_fits(self, kind, slot_key):
        if slot_key == "subject":
            return kind in P.ITEM_SUBJECT
        if kind == "PRIVATE_KEY":
            return slot_key in PRE_SLOTS or slot_key == "body"
        return True

    def item_entry(self, kind, value, context, slot_key):
        if slot_key == "subject":
            template = self.rng.choice(P.ITEM_SUBJECT[kind] if context else P.SUBJECT_NO_CONTEXT)
            field = ""
        else:
            template = self.rng.choice(P.ITEM_PROSE[kind][0 if context else 1])
            field = self.rng.choice(P.ITEM_FIELD.get(kind, ["Value"]) if context else P.NEUTRAL_FIELDS)
        return (self.fill(template, value), field, value)

    # -------------------------------------------------------------- content of a slot

    def prose(self, slot, letter: bool):
        """Paragraphs (with markers) for a prose slot: greeting, filler, the entries, closing."""
        first, name = self.person()
        paras = []
        if letter:
            paras.append(self.rng.choice(P.GREETINGS).format(first=first, name=name))
        else:
            paras.append(f"{self.fake.company()} - {self.rng.choice(P.TOPICS)}")
        entries = list(slot.entries)
        self.rng.shuffle(entries)
        for sentence, _, _ in entries:
            if "\n" in sentence:  # a PEM block stands alone, after its introduction if any
                at = sentence.index(F.VS)
                if sentence[:at].strip():
                    paras.append(sentence[:at].rstrip("\n"))
                paras.append(sentence[at:])
                continue
            before = self.filler_sentences(self.rng.randint(0, 2))
            after = self.filler_sentences(self.rng.randint(0, 1))
            paras.append(" ".join(x for x in (before, sentence, after) if x))
        for _ in range(self.rng.randint(1, 3)):
            paras.insert(self.rng.randint(1, len(paras)), self.filler_sentences(self.rng.randint(2, 5)))
        if letter:
            paras.append(self.rng.choice(P.CLOSINGS).format(first=first, name=name, company=self.fake.company()))
        return paras

    def table(self, slot):
        """Rows for a table slot: a header, one row per entry, a few filler rows."""
        header = self.rng.choice([["Name", "Company", "Field", "Value", "City"],
                                  ["name", "company", "field", "value", "city"]])
        rows = []
        for _, field, value in slot.entries:
            rows.append([self.fake.name(), self.fake.company(), field or "Value",
                         F.VS + value.replace(" ", F.NB) + F.VE, self.fake.city()])
        for _ in range(self.rng.randint(1, 4)):
            rows.append([self.fake.name(), self.fake.company(), self.rng.choice(["Status", "Department", "Team"]),
                         self.rng.choice(["active", "pending", "Finance", "Sales", "HR", "closed"]), self.fake.city()])
        self.rng.shuffle(rows)
        return [header] + rows

    def subject(self, slot):
        base = self.rng.choice(["", "Re: ", "RE: ", "Fwd: ", "[External] "]) + self.rng.choice(P.TOPICS)
        if slot.entries:
            base += " - " + " / ".join(s for s, _, _ in slot.entries)
        return base

    # -------------------------------------------------------------- MIME

    def text_part(self, text: str, subtype: str, cte: str, charset: str, extra=""):
        """Headers and body of one text part; `text` uses LF line ends."""
        try:
            data = text.encode(charset)
        except UnicodeEncodeError:
            charset, data = "utf-8", text.encode("utf-8")
        if cte == "7bit" and any(b > 127 for b in data):
            # The message is written out as UTF-8, so an 8bit part must be UTF-8 too.
            charset, cte, data = "utf-8", "8bit", text.encode("utf-8")
        if cte == "quoted-printable":
            body = quopri.encodestring(data).decode("ascii")
        elif cte == "base64":
            body = base64.encodebytes(data.replace(b"\n", b"\r\n")).decode("ascii")
        else:
            body = text
        head = f"Content-Type: text/{subtype}; charset=\"{charset}\"{extra}\nContent-Transfer-Encoding: {cte}\n"
        return head + "\n" + body.rstrip("\n") + "\n"

    def binary_part(self, data: bytes, ctype: str, name: str):
        return (f"Content-Type: {ctype}; name=\"{name}\"\nContent-Transfer-Encoding: base64\n"
                f"Content-Disposition: attachment; filename=\"{name}\"\n\n" + base64.encodebytes(data).decode("ascii"))

    def multipart(self, subtype: str, parts):
        boundary = f"----=_Part_{self.rng.getrandbits(48):012x}"
        out = [f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\n", "\nThis is a multi-part message in MIME format.\n"]
        for p in parts:
            out.append(f"--{boundary}\n{p}")
        out.append(f"--{boundary}--\n")
        return "".join(out)

    def body_part(self, shape, slot, texts):
        paras = self.prose(slot, letter=True)
        charset = self.rng.choice(CHARSETS)
        if shape == "html" or shape == "alternative":
            html, text = F.html_body(self.rng, paras, self.rng.choice(P.TOPICS))
            html_part = self.text_part(html, "html", self.rng.choice(["quoted-printable", "7bit", "base64"]), "utf-8")
            texts.append({"location": "body", "part": "html", "text": text})
            if shape == "html":
                return html_part
            plain = "\n".join(F.wrap(paras))
            texts.append({"location": "body", "part": "plain", "text": plain})
            return self.multipart("alternative", [self.text_part(plain, "plain", "quoted-printable", charset),
                                                  html_part])
        cte = {"plain-7bit": "7bit", "plain-qp": "quoted-printable", "plain-base64": "base64"}[shape]
        # Quoted-printable bodies keep long paragraph lines (soft breaks split values); others wrap.
        plain = "\n\n".join(F.plain(p) for p in paras) if cte == "quoted-printable" else "\n".join(F.wrap(paras))
        texts.append({"location": "body", "part": "plain", "text": plain})
        return self.text_part(plain, "plain", cte, charset)

    def attachment_part(self, kind, name, slots, texts, ignore):
        octet = self.rng.random() < 0.2  # declared type wrong on purpose: true type by magic bytes
        if kind in ("txt", "csv"):
            slot = slots[kind]
            if kind == "txt":
                text = "\n".join(F.wrap(self.prose(slot, letter=False)))
                cte = "base64"
            else:
                text = F.csv_text(self.table(slot)).replace("\r\n", "\n")
                cte = self.rng.choice(["7bit", "quoted-printable", "base64"])
            texts.append({"location": slot.location, "part": kind, "text": text})
            disp = f"; name=\"{name}\"\nContent-Disposition: attachment; filename=\"{name}\""
            return self.text_part(text, "plain" if kind == "txt" else "csv", cte, "utf-8", disp)
        if kind == "rfc822":
            return self.rfc822_part(name, slots["rfc822"], texts, ignore)
        if kind in ("docx", "xlsx", "pptx", "odt", "rtf", "pdf"):
            slot = slots[kind]
            if kind == "xlsx":
                data, text = F.xlsx(self.table(slot))
            elif kind == "pdf":
                data, text = F.pdf(self.prose(slot, letter=False))
            else:
                render = {"docx": F.docx, "pptx": F.pptx, "odt": F.odt, "rtf": F.rtf}[kind]
                data, text = render(self.rng, self.prose(slot, letter=False))
            texts.append({"location": slot.location, "part": kind, "text": text})
            ctype = "application/octet-stream" if octet else {
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "odt": "application/vnd.oasis.opendocument.text", "rtf": "application/rtf",
                "pdf": "application/pdf"}[kind]
            return self.binary_part(data, ctype, name)
        if kind == "zip":
            outer, inner = slots["zip-txt"], slots["zip-nested"]
            t1 = "\n".join(F.wrap(self.prose(outer, letter=False)))
            t2 = "\n".join(F.wrap(self.prose(inner, letter=False)))
            inner_zip = F.zip_bytes([("deep.txt", t2.encode("utf-8"))])
            data = F.zip_bytes([("notes.txt", t1.encode("utf-8")), ("inner.zip", inner_zip)])
            texts.append({"location": outer.location, "part": "zip-txt", "text": t1})
            texts.append({"location": inner.location, "part": "zip-nested", "text": t2})
            return self.binary_part(data, "application/octet-stream" if octet else "application/zip", name)
        slot = slots["targz"]
        text = "\n".join(F.wrap(self.prose(slot, letter=False)))
        data = F.tar_gz([("export/report.txt", text.encode("utf-8")),
                         ("export/status.log", self.filler_sentences(4).encode("utf-8"))])
        texts.append({"location": slot.location, "part": "targz", "text": text})
        return self.binary_part(data, "application/octet-stream" if octet else "application/gzip", name)

    def rfc822_part(self, name, slot, texts, ignore):
        sender, to = self.fake.email(), self.fake.email()
        for addr in (sender, to):  # present in the nested headers, not planted
            ignore.append({"type": "EMAIL_ADDRESS", "value": addr, "location": slot.location})
        text = "\n".join(F.wrap(self.prose(slot, letter=True)))
        texts.append({"location": slot.location, "part": "rfc822", "text": text})
        when = BASE_DATE + datetime.timedelta(seconds=self.rng.randint(0, 3 * 10**7))
        inner = (f"From: {self.fake.name()} <{sender}>\nTo: <{to}>\nSubject: {self.rng.choice(P.TOPICS)}\n"
                 f"Date: {email.utils.format_datetime(when)}\nMessage-ID: <{self.rng.getrandbits(64):016x}@mail.example>\n"
                 "MIME-Version: 1.0\n" + self.text_part(text, "plain", self.rng.choice(["7bit", "quoted-printable"]),
                                                       "utf-8"))
        return (f"Content-Type: message/rfc822; name=\"{name}\"\nContent-Disposition: attachment; filename=\"{name}\"\n"
                "\n" + inner)

    def message(self):
        """(eml bytes, items, decoys, ignore, texts) of one message."""
        shape, attachments, slots = self.plan()
        items, decoys, ignore, texts = [], [], [], []
        self.place_items(slots, items, decoys)
        subject = F.plain(self.subject(slots["subject"]))
        texts.append({"location": "subject", "part": "subject", "text": subject})
        if self.rng.random() < 0.15 or any(ord(c) > 127 for c in subject):
            subject_header = Header(subject, "utf-8").encode(linesep="\n")
        else:
            subject_header = subject
        body = self.body_part(shape, slots["body"], texts)
        if attachments:
            parts = [body] + [self.attachment_part(k, n, slots, texts, ignore) for k, n in attachments]
            body = self.multipart("mixed", parts)
        sender_name, rcpt_name = self.person()[1], self.person()[1]
        when = BASE_DATE + datetime.timedelta(seconds=self.rng.randint(0, 3 * 10**7))
        relay_ip = self.fake.ipv4_public()
        head = (f"Received: from mail.example.net (mail.example.net [{relay_ip}])\n\tby mx.sluice.test with ESMTPS;"
                f" {email.utils.format_datetime(when)}\n"
                f"From: {sender_name} <{self.fake.email()}>\nTo: {rcpt_name} <{self.fake.email()}>\n"
                f"Subject: {subject_header}\nDate: {email.utils.format_datetime(when)}\n"
                f"Message-ID: <{self.rng.getrandbits(64):016x}.{self.rng.getrandbits(32):08x}@{self.fake.domain_name()}>\n"
                "MIME-Version: 1.0\n")
        eml = (head + body).replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        return eml, items, decoys, ignore, texts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    started = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    comp = Composer(args.seed)
    by_type, by_part, decoy_part, decoy_kind = (collections.Counter() for _ in range(4))
    with_items, total_bytes = 0, 0
    width = max(5, len(str(args.count)))
    with open(os.path.join(args.out, "labels.jsonl"), "w", encoding="utf-8") as labels, \
            open(os.path.join(args.out, "texts.jsonl"), "w", encoding="utf-8") as texts_out:
        for i in range(1, args.count + 1):
            eml, items, decoys, ignore, texts = comp.message()
            name = f"{i:0{width}d}.eml"
            with open(os.path.join(args.out, name), "wb") as f:
                f.write(eml)
            total_bytes += len(eml)
            for it in items:
                assert V.validate(it["type"], it["value"]), it
                by_type[it["type"]] += 1
                by_part[it["part"]] += 1
            for d in decoys:
                decoy_part[d["part"]] += 1
                decoy_kind[d["kind"]] += 1
            with_items += bool(items)
            labels.write(json.dumps({"file": name, "items": items, "decoys": decoys, "ignore": ignore},
                                    ensure_ascii=False) + "\n")
            texts_out.write(json.dumps({"file": name, "texts": texts}, ensure_ascii=False) + "\n")
    summary = {"messages": args.count, "seed": args.seed, "with_items": with_items, "eml_bytes": total_bytes,
               "items_by_type": dict(sorted(by_type.items())), "items_by_location": dict(sorted(by_part.items())),
               "decoys_by_location": dict(sorted(decoy_part.items())), "decoys_by_kind": dict(sorted(decoy_kind.items()))}
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    secs = time.monotonic() - started
    print(f"{args.count} messages ({with_items} with items, {sum(by_type.values())} items, "
          f"{sum(decoy_kind.values())} decoys, {total_bytes / 1e6:.1f} MB) in {secs:.1f} s -> {args.out}")
    print(f"{'location':<14}{'items':>7}{'decoys':>8}")
    for part in sorted(set(by_part) | set(decoy_part)):
        print(f"{part:<14}{by_part[part]:>7}{decoy_part[part]:>8}")
    print("items by type: " + ", ".join(f"{k} {n}" for k, n in sorted(by_type.items())))


if __name__ == "__main__":
    main()
