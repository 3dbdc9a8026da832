"""Renderers for the evaluation corpus: text with marked values -> bytes of one format, plus the
plain text a perfect decomposer would extract from it.

Input text carries three private-use markers: VS and VE around every planted value or decoy, and
NB for a space inside one (so wrapping never splits a value across lines). Each renderer decides
what the markers become (bold runs, split OOXML runs, RTF groups, HTML tags) and returns
`(data, text)`. Everything is deterministic: fixed zip timestamps, gzip mtime 0, randomness only
from the `random.Random` passed in.
"""

import csv
import gzip
import html
import io
import tarfile
import textwrap
import unicodedata
import zipfile
from xml.sax.saxutils import escape as xml_escape

VS, VE, NB = "\ue001", "\ue002", "\ue000"
ZIP_TIME = (2024, 1, 2, 3, 4, 6)


def plain(s: str) -> str:
    """The text as a reader sees it: markers removed, protected spaces restored."""
    return s.replace(VS, "").replace(VE, "").replace(NB, " ")


def wrap(paragraphs, width=76):
    """Plain lines of the paragraphs, wrapped at `width` without splitting marked values; lines of
    a multi-line paragraph (a PEM block) are kept as they are."""
    lines = []
    for p in paragraphs:
        for raw in p.split("\n"):
            if len(raw) <= width:
                lines.append(plain(raw))
            else:
                wrapped = textwrap.wrap(raw, width, break_long_words=False, break_on_hyphens=False)
                lines.extend(plain(x) for x in wrapped)
        lines.append("")
    return lines[:-1] if lines else lines


def split_value_runs(rng, text: str):
    """Split marked text into (segment, is_value) pairs; a value is cut in two at a random point
    in about a third of the cases, as word processors do with revision or spell-check runs."""
    out = []
    rest = text
    while VS in rest:
        before, _, tail = rest.partition(VS)
        value, _, rest = tail.partition(VE)
        if before:
            out.append((plain(before), False))
        value = plain(value)
        if len(value) > 3 and rng.random() < 0.33:
            cut = rng.randint(1, len(value) - 1)
            out.append((value[:cut], True))
            out.append((value[cut:], True))
        else:
            out.append((value, True))
    if rest:
        out.append((plain(rest), False))
    return out


def zip_bytes(entries, stored_first=None) -> bytes:
    """A zip archive of (name, bytes) entries, deflated, with fixed timestamps; `stored_first`
    is an uncompressed first entry (ODF's mimetype)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if stored_first:
            info = zipfile.ZipInfo(stored_first[0], ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, stored_first[1])
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


# ------------------------------------------------------------------ HTML


def html_body(rng, paragraphs, title: str):
    """An HTML document; values sometimes bold or in a span, sometimes after a &nbsp;."""
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>" + html.escape(title) + "</title>",
             "<style>p{font-family:Arial,sans-serif;font-size:11pt}</style></head><body>"]
    for p in paragraphs:
        if "\n" in p and VS in p:  # a PEM block
            parts.append("<pre>" + html.escape(plain(p)) + "</pre>")
            continue
        if "\n" in p:  # a signature
            parts.append("<p>" + "<br>".join(html.escape(plain(ln)) for ln in p.split("\n")) + "</p>")
            continue
        out = []
        for seg, is_value in split_value_runs(rng, p):
            esc = html.escape(seg)
            if is_value:
                tag = rng.choice(["", "", "b", "strong", "span"])
                if out and out[-1].endswith(" ") and rng.random() < 0.3:
                    out[-1] = out[-1][:-1] + "&nbsp;"
                out.append(f"<{tag}>{esc}</{tag}>" if tag else esc)
            else:
                out.append(esc)
        parts.append("<p>" + "".join(out) + "</p>")
    parts.append("</body></html>")
    text = "\n".join(plain(p) for p in paragraphs)
    return "\n".join(parts), text


# ------------------------------------------------------------------ OOXML and ODF

CT_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def docx(rng, paragraphs):
    """A minimal WordprocessingML package: document.xml with runs, values sometimes split or bold."""
    body = []
    lines = [ln for p in paragraphs for ln in p.split("\n")]
    for ln in lines:
        runs = []
        for seg, is_value in split_value_runs(rng, ln):
            rpr = "<w:rPr><w:b/></w:rPr>" if is_value and rng.random() < 0.3 else ""
            runs.append(f'<w:r>{rpr}<w:t xml:space="preserve">{xml_escape(seg)}</w:t></w:r>')
        body.append("<w:p>" + "".join(runs) + "</w:p>")
    document = (CT_HEAD + '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                "<w:body>" + "".join(body) + "<w:sectPr/></w:body></w:document>")
    types = (CT_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
             'wordprocessingml.document.main+xml"/></Types>')
    rels = (CT_HEAD + f'<Relationships xmlns="{RELS_NS}"><Relationship Id="rId1" Type="{OFFICE_DOC}" '
            'Target="word/document.xml"/></Relationships>')
    data = zip_bytes([("[Content_Types].xml", types), ("_rels/.rels", rels), ("word/document.xml", document)])
    return data, "\n".join(plain(ln) for ln in lines)


def col_name(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def xlsx(rows):
    """A minimal SpreadsheetML package; every cell a shared string (as long numbers must be)."""
    strings, index = [], {}
    sheet_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, cell in enumerate(row):
            s = plain(cell)
            if s not in index:
                index[s] = len(strings)
                strings.append(s)
            cells.append(f'<c r="{col_name(c)}{r}" t="s"><v>{index[s]}</v></c>')
        sheet_rows.append(f'<row r="{r}">' + "".join(cells) + "</row>")
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = CT_HEAD + f'<worksheet xmlns="{main}"><sheetData>' + "".join(sheet_rows) + "</sheetData></worksheet>"
    sst = (CT_HEAD + f'<sst xmlns="{main}" count="{len(strings)}" uniqueCount="{len(strings)}">'
           + "".join(f'<si><t xml:space="preserve">{xml_escape(s)}</t></si>' for s in strings) + "</sst>")
    workbook = (CT_HEAD + f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
                '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wb_rels = (CT_HEAD + f'<Relationships xmlns="{RELS_NS}">'
               f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
               f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    types = (CT_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             f'<Override PartName="/xl/workbook.xml" ContentType="{sml}.sheet.main+xml"/>'
             f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sml}.worksheet+xml"/>'
             f'<Override PartName="/xl/sharedStrings.xml" ContentType="{sml}.sharedStrings+xml"/></Types>')
    rels = (CT_HEAD + f'<Relationships xmlns="{RELS_NS}"><Relationship Id="rId1" Type="{OFFICE_DOC}" '
            'Target="xl/workbook.xml"/></Relationships>')
    data = zip_bytes([("[Content_Types].xml", types), ("_rels/.rels", rels), ("xl/workbook.xml", workbook),
                      ("xl/_rels/workbook.xml.rels", wb_rels), ("xl/worksheets/sheet1.xml", sheet),
                      ("xl/sharedStrings.xml", sst)])
    text = "\n".join("\t".join(plain(c) for c in row) for row in rows)
    return data, text


def pptx(rng, paragraphs):
    """A minimal PresentationML package: up to three paragraphs per slide, text in <a:t> runs."""
    lines = [ln for p in paragraphs for ln in p.split("\n")]
    slides = [lines[i : i + 3] for i in range(0, len(lines), 3)] or [[]]
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    p_ns = "http://schemas.openxmlformats.org/presentationml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files, pres_rels, sld_ids, overrides = [], [], [], []
    for n, slide in enumerate(slides, start=1):
        paras = []
        for ln in slide:
            runs = "".join(f'<a:r><a:rPr lang="en-US"/><a:t>{xml_escape(seg)}</a:t></a:r>'
                           for seg, _ in split_value_runs(rng, ln))
            paras.append(f"<a:p>{runs}</a:p>")
        xml = (CT_HEAD + f'<p:sld xmlns:a="{a}" xmlns:p="{p_ns}" xmlns:r="{rel}"><p:cSld><p:spTree>'
               '<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>'
               '<p:sp><p:nvSpPr><p:cNvPr id="2" name="Text"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr/>'
               f'<p:txBody><a:bodyPr/>{"".join(paras)}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>')
        files.append((f"ppt/slides/slide{n}.xml", xml))
        pres_rels.append(f'<Relationship Id="rId{n}" Type="{rel}/slide" Target="slides/slide{n}.xml"/>')
        sld_ids.append(f'<p:sldId id="{255 + n}" r:id="rId{n}"/>')
        overrides.append(f'<Override PartName="/ppt/slides/slide{n}.xml" ContentType="application/'
                         'vnd.openxmlformats-officedocument.presentationml.slide+xml"/>')
    pres = (CT_HEAD + f'<p:presentation xmlns:a="{a}" xmlns:p="{p_ns}" xmlns:r="{rel}"><p:sldIdLst>'
            + "".join(sld_ids) + '</p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/></p:presentation>')
    types = (CT_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-'
             'officedocument.presentationml.presentation.main+xml"/>' + "".join(overrides) + "</Types>")
    rels = (CT_HEAD + f'<Relationships xmlns="{RELS_NS}"><Relationship Id="rId1" Type="{OFFICE_DOC}" '
            'Target="ppt/presentation.xml"/></Relationships>')
    p_rels = CT_HEAD + f'<Relationships xmlns="{RELS_NS}">' + "".join(pres_rels) + "</Relationships>"
    data = zip_bytes([("[Content_Types].xml", types), ("_rels/.rels", rels), ("ppt/presentation.xml", pres),
                      ("ppt/_rels/presentation.xml.rels", p_rels), *files])
    return data, "\n".join(plain(ln) for ln in lines)


def odt(rng, paragraphs):
    """A minimal OpenDocument text: stored mimetype first, values sometimes in a text:span."""
    lines = [ln for p in paragraphs for ln in p.split("\n")]
    body = []
    for ln in lines:
        out = []
        for seg, is_value in split_value_runs(rng, ln):
            esc = xml_escape(seg)
            out.append(f'<text:span text:style-name="T1">{esc}</text:span>' if is_value and rng.random() < 0.4
                       else esc)
        body.append('<text:p text:style-name="Standard">' + "".join(out) + "</text:p>")
    content = (CT_HEAD + '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               "<office:body><office:text>" + "".join(body) + "</office:text></office:body></office:document-content>")
    manifest = (CT_HEAD + '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    data = zip_bytes([("content.xml", content), ("META-INF/manifest.xml", manifest)],
                     stored_first=("mimetype", "application/vnd.oasis.opendocument.text"))
    return data, "\n".join(plain(ln) for ln in lines)


# ------------------------------------------------------------------ RTF and PDF


def rtf_escape(s: str) -> str:
    out = []
    for ch in s:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ord(ch) < 128:
            out.append(ch)
        else:
            n = ord(ch)
            out.append(f"\\u{n if n < 32768 else n - 65536}?")
    return "".join(out)


def rtf(rng, paragraphs):
    """RTF 1.x with a font table; values sometimes in a bold group {\\b ...}."""
    lines = [ln for p in paragraphs for ln in p.split("\n")]
    body = []
    for ln in lines:
        out = []
        for seg, is_value in split_value_runs(rng, ln):
            esc = rtf_escape(seg)
            out.append("{\\b " + esc + "}" if is_value and rng.random() < 0.4 else esc)
        body.append("".join(out) + "\\par\n")
    doc = "{\\rtf1\\ansi\\ansicpg1252\\deff0\\uc1{\\fonttbl{\\f0\\fswiss Helvetica;}}\n\\f0\\fs22\n" + "".join(body) + "}\n"
    return doc.encode("ascii"), "\n".join(plain(ln) for ln in lines)


def ascii_only(s: str) -> str:
    """What survives in a WinAnsi-free PDF string: accents dropped, other non-ASCII removed."""
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def pdf(paragraphs):
    """A small valid uncompressed PDF; each wrapped line drawn with one Tj (Helvetica)."""
    lines = [ascii_only(ln) for ln in wrap(paragraphs, 90)]
    pages = [lines[i : i + 60] for i in range(0, len(lines), 60)] or [[]]
    objs = {1: "<< /Type /Catalog /Pages 2 0 R >>", 3: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    n = 4
    for page in pages:
        ops = ["BT", "/F1 10 Tf", "12 TL", "50 780 Td"]
        for ln in page:
            esc = ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({esc}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops)
        objs[n] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                   f"/Contents {n + 1} 0 R >>")
        objs[n + 1] = f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"
        kids.append(f"{n} 0 R")
        n += 2
    objs[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for i in sorted(objs):
        offsets[i] = out.tell()
        out.write(f"{i} 0 obj\n{objs[i]}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    count = max(objs) + 1
    out.write(f"xref\n0 {count}\n0000000000 65535 f \n".encode())
    for i in range(1, count):
        out.write(f"{offsets[i]:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {count} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue(), "\n".join(lines)


# ------------------------------------------------------------------ tables and containers


def csv_text(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        w.writerow([plain(c) for c in row])
    return buf.getvalue()


def tar_gz(entries) -> bytes:
    """A gzip-compressed tar of (path, bytes) entries with fixed metadata (mtime, owner)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1704164646
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as g:
        g.write(raw.getvalue())
    return out.getvalue()
