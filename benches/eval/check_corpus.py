#!/usr/bin/env python3
"""Self-check of a generated corpus with an independent, standard-library decomposer.

    check_corpus.py DIR

Parses every DIR/*.eml with Python's `email` package, extracts text from every part the way a
decomposer should (transfer encodings, RFC 2047 subject, HTML, zip (nested), tar.gz, docx, xlsx,
pptx, odt, rtf, pdf Tj strings, message/rfc822), and checks that every labelled item and decoy
appears, whitespace-normalised, in the text of its location. Exits 1 listing what is missing. It
proves the labels describe the bytes; it is not a reference for how Sluice names locations.
"""

import email
import email.policy
import gzip
import html.parser
import io
import json
import os
import re
import sys
import tarfile
import zipfile


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []

    def handle_data(self, data):
        self.out.append(data)

    def handle_starttag(self, tag, attrs):
        if tag in ("p", "br", "pre", "tr", "div"):
            self.out.append("\n")


def html_text(s: str) -> str:
    p = _Text()
    p.feed(s)
    return "".join(p.out).replace("\xa0", " ")


def xml_text(data: bytes, para_tags) -> str:
    s = data.decode("utf-8")
    s = re.sub(r"</(%s)>" % "|".join(para_tags), "\n", s)
    s = re.sub(r"<[^>]+>", "", s)
    return html.unescape(s)


def rtf_text(data: bytes) -> str:
    s = data.decode("ascii")
    s = s.replace("\\par", "\n")
    s = re.sub(r"\\u(-?\d+)\?", lambda m: chr(int(m.group(1)) % 65536), s)
    s = re.sub(r"\{\\fonttbl[^}]*\}[^}]*\}", "", s)
    s = re.sub(r"\\[a-z]+-?\d* ?", "", s)
    return s.replace("\\{", "{").replace("\\}", "}").replace("\\\\", "\\").replace("{", "").replace("}", "")


def pdf_text(data: bytes) -> str:
    lines = re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", data)
    return "\n".join(re.sub(rb"\\(.)", rb"\1", ln).decode("latin-1") for ln in lines)


def container(name: str, data: bytes, prefix: str, out: dict):
    """Text of a file found inside an attachment, by true type (magic bytes), recursively."""
    loc = f"{prefix}/{name}" if prefix else name
    if data[:4] == b"PK\x03\x04":
        z = zipfile.ZipFile(io.BytesIO(data))
        names = z.namelist()
        if "word/document.xml" in names:
            out[loc] = xml_text(z.read("word/document.xml"), ["w:p"])
        elif "xl/sharedStrings.xml" in names:
            out[loc] = xml_text(z.read("xl/sharedStrings.xml"), ["si"])
        elif "ppt/presentation.xml" in names:
            out[loc] = "\n".join(xml_text(z.read(n), ["a:p"]) for n in names if n.startswith("ppt/slides/slide"))
        elif "content.xml" in names:
            out[loc] = xml_text(z.read("content.xml"), ["text:p"])
        else:
            for n in names:
                container(n, z.read(n), loc, out)
    elif data[:2] == b"\x1f\x8b":
        raw = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(raw)) as t:
            for m in t.getmembers():
                if m.isfile():
                    container(m.name, t.extractfile(m).read(), loc, out)
    elif data[:5] == b"%PDF-":
        out[loc] = pdf_text(data)
    elif data[:5] == b"{\\rtf":
        out[loc] = rtf_text(data)
    else:
        out[loc] = data.decode("utf-8")


def extract(msg) -> dict:
    """location -> text, in `sluice scan` location terms."""
    out = {"subject": str(msg["subject"] or "")}
    body = []
    for part in msg.iter_parts() if msg.is_multipart() else [msg]:
        walk(part, body, out)
    out["body"] = "\n".join(body)
    return out


def walk(part, body, out):
    ctype = part.get_content_type()
    name = part.get_filename()
    if ctype == "message/rfc822":  # before is_multipart(), which is true for it
        inner = part.get_content()
        texts = []
        for p in inner.iter_parts() if inner.is_multipart() else [inner]:
            walk(p, texts, {})
        out[f"attachment:{name}"] = "\n".join(texts)
    elif part.is_multipart():
        for p in part.iter_parts():
            walk(p, body, out)
    elif name:
        container(name, part.get_payload(decode=True), "attachment:", out)
    elif ctype == "text/html":
        body.append(html_text(part.get_content()))
    else:
        body.append(part.get_content())


def norm(s: str) -> str:
    return " ".join(s.split())


def main():
    root = sys.argv[1]
    missing, checked = [], 0
    with open(os.path.join(root, "labels.jsonl"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            with open(os.path.join(root, rec["file"]), "rb") as m:
                msg = email.message_from_binary_file(m, policy=email.policy.default)
            texts = {k.replace("attachment:/", "attachment:"): norm(v) for k, v in extract(msg).items()}
            for entry in rec["items"] + rec["decoys"]:
                checked += 1
                value = entry["value"]
                text = texts.get(entry["location"], "")
                if norm(value) not in text:
                    missing.append(f"{rec['file']} {entry.get('type') or entry.get('kind')} {entry['location']}: "
                                   f"{value[:60]!r} not in {sorted(texts)}")
    for m in missing[:30]:
        print(m)
    print(f"checked {checked} labelled values: {len(missing)} missing")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
