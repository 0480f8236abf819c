#!/usr/bin/env python3
"""Generate the small real documents in ``tests/fixtures/documents/`` (English and Japanese).

    .venv/bin/python tools/make_test_documents.py --out tests/fixtures/documents
    .venv/bin/python tools/make_test_documents.py --long-pdf /tmp/long.pdf --pages 200

Every document holds a few distinct facts on known pages or under known headings (see `FACTS`),
so extraction and retrieval tests can ask about them. Runs in the app's environment: PDFs are
written by the small writer below (no PDF library needed), Word / PowerPoint / Excel files by
python-docx / python-pptx / openpyxl, the scanned-looking pages are drawn with Pillow (which
python-pptx already needs).

The PDFs are built the way many real producers build them: Latin text in the standard Helvetica
fonts, Japanese text in a non-embedded CID font (HeiseiKakuGo-W5, Adobe-Japan1, UniJIS-UCS2-H,
like ReportLab's `UnicodeCIDFont`), so they stay a few kilobytes. Lines are wrapped by the writer,
so Japanese sentences really are broken across lines, and one English word is hyphenated at a
line end, as a typesetter would do.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import itertools
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "documents"
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# The facts each document states, where: (file, page or None, heading or "", text).
FACTS: tuple[tuple[str, int | None, str, str], ...] = (
    ("aurora_report.pdf", 1, "1. Overview", "The reactor operated for 6,412 hours in 2024."),
    ("aurora_report.pdf", 2, "2. Staff and Training",
     "Dr. Helena Marsh became chief operator in January 2024."),
    ("aurora_report.pdf", 3, "3. Coolant System",
     "The Aurora reactor's coolant pump was replaced on 12 March 2024."),
    ("aurora_report.pdf", 4, "4. Budget",
     "The maintenance budget for 2025 is 3.2 million euros."),
    ("it_guide_ja.pdf", 1, "1. はじめに", "本ガイドは大阪本社の情報システム部が管理しています。"),
    ("it_guide_ja.pdf", 2, "2. パスワード",
     "東京支社のパスワード再設定は毎月第2金曜日に行います。"),
    ("it_guide_ja.pdf", 3, "3. 問い合わせ", "ヘルプデスクの内線番号は4321です。"),
    ("tategaki_ja.pdf", 1, "第一章 文書管理", "議事録の保存期間は十年と定められています。"),
    ("tategaki_ja.pdf", 2, "第二章 休暇", "年次有給休暇は入社六か月後に十日付与されます。"),
    ("partly_scanned.pdf", 1, "", "The first page of this memo has a text layer."),
    ("encrypted_hearth.pdf", 1, "", "The vault code is 7781."),
    ("permissions_only.pdf", 1, "", "Editing this memo is restricted by its owner."),
    ("project_handbook.docx", None, "Accounts",
     "New accounts are approved by Priya Natarajan within two working days."),
    ("project_handbook.docx", None, "Safety",
     "Fire drills happen on the first Monday of every quarter."),
    ("経理規程.docx", None, "経費精算", "経費精算の締め日は毎月25日です。"),
    ("経理規程.docx", None, "交通費", "新幹線の利用は片道100キロメートル以上の出張に限ります。"),
    ("quarterly_review.pptx", 2, "Sales", "Revenue grew 14% to 8.6 million dollars."),
    ("quarterly_review.pptx", 3, "Hiring", "Mention that the Osaka office opens in April 2025."),
    ("quarterly_review.pptx", 4, "今後の予定", "新製品の発表は2025年5月20日です。"),
    ("onboarding.md", None, "Laptop setup",
     "Laptops are encrypted with a 12-character recovery key."),
    ("meeting_notes_sjis.txt", None, "",
     "次回の定例会議は4月8日（月）午前10時から第3会議室で開催します。"),  # noqa: RUF001
    ("release_notes_utf16.txt", None, "",
     "Version 2.4 fixes the printer crash reported by the Kyoto team."),
    ("backup_utf8_bom.txt", None, "", "The backup server is named HEARTH-BK-02."),
    ("faq.html", None, "Returns", "Returns are accepted within 30 days of purchase."),
    ("faq_ja_sjis.html", None, "返品について", "返品は購入日から30日以内に受け付けます。"),
)


# --- A minimal PDF writer ---------------------------------------------------------------------

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


@dataclass
class _Rc4Security:
    """The PDF 1.3 standard security handler, revision 2 (40-bit RC4): old, but every reader
    implements it, and it is enough to make a reader ask for the password."""

    user_password: str
    owner_password: str
    file_id: bytes
    permissions: int = -44
    key: bytes = b""
    o_entry: bytes = b""
    u_entry: bytes = b""

    def __post_init__(self) -> None:
        def pad(pw: str) -> bytes:
            return (pw.encode("latin-1") + _PAD)[:32]

        owner_key = hashlib.md5(pad(self.owner_password)).digest()[:5]
        self.o_entry = _rc4(owner_key, pad(self.user_password))
        self.key = hashlib.md5(pad(self.user_password) + self.o_entry
                               + struct.pack("<i", self.permissions) + self.file_id).digest()[:5]
        self.u_entry = _rc4(self.key, _PAD)

    def encrypt(self, num: int, data: bytes) -> bytes:
        obj_key = hashlib.md5(self.key + num.to_bytes(3, "little") + b"\0\0").digest()[:10]
        return _rc4(obj_key, data)

    def dictionary(self) -> bytes:
        return (b"<< /Filter /Standard /V 1 /R 2 /O <" + self.o_entry.hex().encode()
                + b"> /U <" + self.u_entry.hex().encode() + b"> /P "
                + str(self.permissions).encode() + b" >>")


class PdfWriter:
    """Objects in, a PDF file out: enough for text pages in standard and CID fonts and images."""

    def __init__(self, *, user_password: str | None = None) -> None:
        self._objects: list[bytes | None] = []
        self._file_id = hashlib.md5(b"hearth test document").digest()
        self._security = (_Rc4Security(user_password, "owner-" + user_password, self._file_id)
                          if user_password is not None else None)

    def reserve(self) -> int:
        self._objects.append(None)
        return len(self._objects)

    def set(self, num: int, body: bytes) -> None:
        self._objects[num - 1] = body

    def add(self, body: bytes) -> int:
        num = self.reserve()
        self.set(num, body)
        return num

    def add_stream(self, data: bytes, extra: bytes = b"", *, compress: bool = True) -> int:
        num = self.reserve()
        if compress:
            data = zlib.compress(data, 9)
            extra += b" /Filter /FlateDecode"
        if self._security is not None:
            data = self._security.encrypt(num, data)
        self.set(num, b"<< /Length " + str(len(data)).encode() + extra + b" >>\nstream\n"
                 + data + b"\nendstream")
        return num

    def write(self, path: Path, root: int, info: int | None = None) -> None:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for num, body in enumerate(self._objects, start=1):
            assert body is not None, f"object {num} was reserved but never set"
            offsets.append(len(out))
            out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
        encrypt = None
        if self._security is not None:
            encrypt = len(self._objects) + 1
            offsets.append(len(out))
            out += f"{encrypt} 0 obj\n".encode() + self._security.dictionary() + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode()
        for offset in offsets:
            out += f"{offset:010d} 00000 n \n".encode()
        trailer = f"<< /Size {len(offsets) + 1} /Root {root} 0 R".encode()
        if info is not None:
            trailer += f" /Info {info} 0 R".encode()
        if encrypt is not None:
            trailer += f" /Encrypt {encrypt} 0 R".encode()
        file_id = self._file_id.hex().encode()
        trailer += b" /ID [<" + file_id + b"> <" + file_id + b">] >>"
        out += b"trailer\n" + trailer + f"\nstartxref\n{xref}\n%%EOF\n".encode()
        path.write_bytes(bytes(out))


def pdf_literal(text: str) -> bytes:
    """A WinAnsi literal string for the standard fonts."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def pdf_utf16(text: str) -> bytes:
    """A hex string of UTF-16BE code units (UniJIS-UCS2-H codes, or a text string with a BOM)."""
    return b"<" + text.encode("utf-16-be").hex().upper().encode() + b">"


@dataclass
class Line:
    """One line of text at a position; font is F1 (Helvetica), F2 (bold), F3 (Japanese) or
    F4 (Japanese set vertically: the line is a column running down from (x, y))."""

    text: str
    x: float
    y: float
    font: str = "F1"
    size: float = 11
    gaps_after: tuple[int, ...] = ()
    """Character counts after which the glyphs are pushed apart (a TJ adjustment, as
    justification does); pdfium reads such a gap as a space."""


@dataclass
class Page:
    """A page's text lines and, optionally, a full-page 1-bit image (a scan)."""

    lines: list[Line] = field(default_factory=list)
    image: tuple[int, int, bytes] | None = None
    """(width, height, packed 1-bit rows) drawn over the whole page."""


PAGE_W, PAGE_H = 595, 842  # A4 in points


def write_pdf(path: Path, pages: Sequence[Page], *, title: str = "",
              user_password: str | None = None) -> None:
    """Write `pages` as a PDF; `title` goes to the document information dictionary."""
    w = PdfWriter(user_password=user_password)
    catalog = w.reserve()
    pages_obj = w.reserve()
    fonts = {
        "F1": w.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                    b"/Encoding /WinAnsiEncoding >>"),
        "F2": w.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
                    b"/Encoding /WinAnsiEncoding >>"),
    }
    used = {line.font for page in pages for line in page.lines}
    if used & {"F3", "F4"}:
        descriptor = w.add(b"<< /Type /FontDescriptor /FontName /HeiseiKakuGo-W5 /Flags 4 "
                           b"/FontBBox [-92 -250 1010 922] /ItalicAngle 0 /Ascent 880 "
                           b"/Descent -120 /CapHeight 737 /StemV 114 >>")
        # CIDs 1-95 (proportional Latin) and 231-632 (half-width forms) are half an em wide.
        cid_font = w.add(b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HeiseiKakuGo-W5 "
                         b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >>"
                         b" /FontDescriptor " + str(descriptor).encode() + b" 0 R /DW 1000 "
                         b"/W [1 95 500 231 632 500] >>")
        for name, cmap in (("F3", b"UniJIS-UCS2-H"), ("F4", b"UniJIS-UCS2-V")):
            fonts[name] = w.add(b"<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 "
                                b"/Encoding /" + cmap + b" /DescendantFonts ["
                                + str(cid_font).encode() + b" 0 R] >>")
    font_res = b" ".join(f"/{name} {num} 0 R".encode() for name, num in fonts.items())
    kids = []
    for page in pages:
        ops = []
        xobjects = b""
        if page.image is not None:
            width, height, bits = page.image
            image = w.add_stream(bits, f" /Type /XObject /Subtype /Image /Width {width} "
                                 f"/Height {height} /ColorSpace /DeviceGray "
                                 f"/BitsPerComponent 1".encode())
            xobjects = f" /XObject << /Im1 {image} 0 R >>".encode()
            ops.append(f"q {PAGE_W} 0 0 {PAGE_H} 0 0 cm /Im1 Do Q".encode())
        for line in page.lines:
            encode = pdf_utf16 if line.font in ("F3", "F4") else pdf_literal
            cuts = [0, *line.gaps_after, len(line.text)]
            pieces = [encode(line.text[a:b]) for a, b in itertools.pairwise(cuts)]
            shown = b"[" + b" -600 ".join(pieces) + b"] TJ" if line.gaps_after else \
                pieces[0] + b" Tj"
            ops.append(f"BT /{line.font} {line.size:g} Tf {line.x:.2f} {line.y:.2f} Td ".encode()
                       + shown + b" ET")
        content = w.add_stream(b"\n".join(ops))
        kids.append(w.add(f"<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 {PAGE_W} "
                          f"{PAGE_H}] /Contents {content} 0 R /Resources << /Font << ".encode()
                          + font_res + b" >>" + xobjects + b" >> >>"))
    w.set(pages_obj, f"<< /Type /Pages /Count {len(kids)} /Kids [".encode()
          + b" ".join(f"{k} 0 R".encode() for k in kids) + b"] >>")
    w.set(catalog, f"<< /Type /Catalog /Pages {pages_obj} 0 R >>".encode())
    info = None
    if title and user_password is None:
        info = w.add(b"<< /Title " + (pdf_utf16("\ufeff" + title) if not title.isascii()
                                      else pdf_literal(title))
                     + b" /Producer (Hearth make_test_documents.py) >>")
    w.write(path, catalog, info)


# --- Laying out text --------------------------------------------------------------------------

@dataclass
class Para:
    """A paragraph to lay out: a heading, body text, or text already broken into lines."""

    text: str = ""
    heading: bool = False
    lines: tuple[str, ...] = ()


class Layout:
    """Flows paragraphs down A4 pages with a page-number footer, like a word processor."""

    MARGIN = 72

    def __init__(self, *, japanese: bool) -> None:
        self.japanese = japanese
        self.pages: list[Page] = []
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        if self.pages:
            self._footer()
        self.pages.append(Page())
        self.y = PAGE_H - self.MARGIN

    def _footer(self) -> None:
        number = str(len(self.pages))
        self.pages[-1].lines.append(Line(number, PAGE_W / 2 - 3, 40, "F1", 9))

    def finish(self) -> list[Page]:
        self._footer()
        return self.pages

    def add(self, para: Para) -> None:
        size, leading = (16.0, 22.0) if para.heading else (11.0, 15.0)
        if para.heading:
            self.y -= 8
        font = "F3" if self.japanese else ("F2" if para.heading else "F1")
        lines = list(para.lines) or self._wrap(para.text, size)
        for text in lines:
            if self.y - leading < self.MARGIN:
                self.new_page()
            self.y -= leading
            self.pages[-1].lines.append(Line(text, self.MARGIN, self.y, font, size))
        self.y -= 9  # paragraph spacing

    def _wrap(self, text: str, size: float) -> list[str]:
        width = PAGE_W - 2 * self.MARGIN
        if self.japanese:
            per_line = int(width // size)
            return [text[i:i + per_line] for i in range(0, len(text), per_line)]
        per_line = int(width // (size * 0.5))  # Helvetica averages about half an em
        lines: list[str] = []
        current = ""
        for word in text.split():
            if current and len(current) + 1 + len(word) > per_line:
                lines.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        if current:
            lines.append(current)
        return lines


def english_report_pages() -> list[Page]:
    """Four pages; the facts of `FACTS` sit on pages 1-4."""
    filler = ("Routine inspections followed the schedule agreed with the national regulator, "
              "and every finding was logged in the maintenance database within one working day. "
              "No event required notification to the authorities during the period covered by "
              "this report.")
    doc = Layout(japanese=False)
    doc.add(Para("Aurora Research Reactor: Annual Maintenance Report", heading=True))
    doc.add(Para("1. Overview", heading=True))
    doc.add(Para("This report summarises the maintenance work carried out at the Aurora research "
                 "reactor during 2024. The reactor operated for 6,412 hours in 2024. "
                 "Availability was higher than in any previous year."))
    doc.add(Para(filler))
    doc.add(Para(filler))
    doc.new_page()
    doc.add(Para("2. Staff and Training", heading=True))
    doc.add(Para("Dr. Helena Marsh became chief operator in January 2024. Eleven operators "
                 "completed the refresher course on emergency procedures."))
    doc.add(Para(filler))
    doc.new_page()
    doc.add(Para("3. Coolant System", heading=True))
    # Broken by hand: "main-/tenance" is hyphenated at a line end, as a typesetter would.
    doc.add(Para(lines=(
        "The Aurora reactor's coolant pump was replaced on 12 March 2024. The planned main-",
        "tenance of the secondary loop was postponed to the spring shutdown because the spare",
        "heat exchanger had not been delivered.")))
    doc.add(Para(filler))
    doc.new_page()
    doc.add(Para("4. Budget", heading=True))
    doc.add(Para("The maintenance budget for 2025 is 3.2 million euros. Most of it goes to the "
                 "replacement of the control rod drive mechanisms."))
    return doc.finish()


def japanese_guide_pages() -> list[Page]:
    """Three pages in Japanese; sentences are wrapped mid-sentence as Japanese layout does."""
    doc = Layout(japanese=True)
    doc.add(Para("社内ITガイド", heading=True))
    doc.add(Para("1. はじめに", heading=True))
    doc.add(Para("本ガイドは大阪本社の情報システム部が管理しています。社員が日常業務で使うパソコン、"
                 "メール、社内ネットワークの基本的な使い方と、困ったときの連絡先をまとめています。"))
    doc.add(Para("内容は年に一度見直します。古い版を印刷して使わないでください。"))
    doc.new_page()
    doc.add(Para("2. パスワード", heading=True))
    # The fact is split across two lines in the middle of a word.
    doc.add(Para(lines=("パスワードは十二文字以上とし、他のサービスと同じものを使わないでください。東京支",
                        "社のパスワード再設定は毎月第2金曜日に行います。再設定の前日にはメールで",
                        "お知らせします。")))
    doc.add(Para("VPNに接続できない場合は、パスワードの有効期限が切れていないか確認してください。"))
    doc.new_page()
    doc.add(Para("3. 問い合わせ", heading=True))
    doc.add(Para("ヘルプデスクの内線番号は4321です。受付時間は平日の午前9時から午後6時までです。"))
    pages = doc.finish()
    # A line whose glyphs a justifying layout pushed apart: pdfium inserts spaces there.
    text = "緊急時は警備室の内線9999に連絡してください。"
    pages[-1].lines.insert(-1, Line(text, Layout.MARGIN, 560, "F3", 11, gaps_after=(4, 8)))
    return pages


def vertical_pages() -> list[Page]:
    """Two pages of Japanese set vertically (tategaki): columns run down and are read from
    right to left; paragraphs start with a one-character indent."""
    indent = "\u3000"  # an ideographic space
    chapters = (
        ("第一章 文書管理", (
            indent + "会議の記録は担当部署が作成し、総務部に提出します。"
            "議事録の保存期間は十年と定められています。",
            indent + "保存期間を過ぎた文書は、年度末にまとめて廃棄します。")),
        ("第二章 休暇", (
            indent + "年次有給休暇は入社六か月後に十日付与されます。"
            "取得の際は三日前までに上司へ申請してください。",
            indent + "夏季休暇は八月に三日間取得できます。")),
    )
    per_column = 24
    pages = []
    for heading, paragraphs in chapters:
        page = Page()
        top = PAGE_H - 90
        x = PAGE_W - 90.0
        page.lines.append(Line(heading, x, top, "F4", 16))
        x -= 32
        for text in paragraphs:
            for i in range(0, len(text), per_column):
                page.lines.append(Line(text[i:i + per_column], x, top, "F4", 12))
                x -= 18
        page.lines.append(Line(str(len(pages) + 1), PAGE_W / 2 - 3, 40, "F1", 9))
        pages.append(page)
    return pages


def long_pdf_pages(pages: int) -> list[Page]:
    """`pages` full pages of English text (for speed measurements)."""
    doc = Layout(japanese=False)
    for number in range(1, pages + 1):
        doc.add(Para(f"Section {number}", heading=True))
        for k in range(4):
            doc.add(Para(f"Paragraph {k + 1} of section {number} records that inspection "
                         f"{number * 10 + k} found the valve assembly within tolerance. "
                         "The measurements were repeated twice by different technicians and "
                         "the results were entered into the maintenance database the same day, "
                         "together with photographs of the seals and the torque settings."))
        if number < pages:
            doc.new_page()
    return doc.finish()


def scan_image(lines: Sequence[str], width: int = 827, height: int = 1169) -> tuple[int, int,
                                                                                   bytes]:
    """A 1-bit A4 page at 100 dpi with `lines` drawn on it: what a scanner produces."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    font = (ImageFont.truetype(str(LATIN_FONT), 22) if LATIN_FONT.exists()
            else ImageFont.load_default())
    for i, text in enumerate(lines):
        draw.text((100, 120 + i * 40), text, fill=0, font=font)
    return width, height, image.tobytes()


# --- The documents ------------------------------------------------------------------------------

def make_pdfs(out: Path) -> None:
    write_pdf(out / "aurora_report.pdf", english_report_pages(),
              title="Aurora Annual Maintenance Report 2024")
    write_pdf(out / "it_guide_ja.pdf", japanese_guide_pages(), title="社内ITガイド")
    write_pdf(out / "tategaki_ja.pdf", vertical_pages(), title="就業規則(抜粋)")
    write_pdf(out / "scanned_invoice.pdf", [
        Page(image=scan_image(["INVOICE 2024-117", "Total due: 1,250.00 EUR"])),
        Page(image=scan_image(["Payment terms: 30 days"])),
    ])
    first = Page(lines=[Line("The first page of this memo has a text layer.", 72, 700)])
    write_pdf(out / "partly_scanned.pdf", [
        first, Page(image=scan_image(["The second page was scanned."])),
    ])
    write_pdf(out / "encrypted_hearth.pdf",
              [Page(lines=[Line("The vault code is 7781.", 72, 700)])], user_password="hearth")
    # Encrypted with an empty user password: anyone may open it; only editing is restricted.
    write_pdf(out / "permissions_only.pdf",
              [Page(lines=[Line("Editing this memo is restricted by its owner.", 72, 700)])],
              user_password="")


def make_docx(out: Path) -> None:
    from docx import Document

    doc = Document()
    doc.core_properties.title = "Project Handbook"
    doc.add_heading("Project Handbook", level=0)
    doc.add_heading("Getting started", level=1)
    doc.add_paragraph("This handbook explains how the lab team works. Read it during your "
                      "first week.")
    doc.add_heading("Accounts", level=2)
    doc.add_paragraph("New accounts are approved by Priya Natarajan within two working days. "
                      "Ask your manager to file the request.")
    doc.add_paragraph("Collect your badge from reception.", style="List Bullet")
    doc.add_paragraph("Set up two-factor authentication.", style="List Bullet")
    doc.add_paragraph("Book the safety induction.", style="List Bullet")
    doc.add_heading("Equipment", level=1)
    doc.add_paragraph("Shared instruments and who looks after them:")
    table = doc.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Instrument", "Location", "Owner"), strict=True):
        cell.text = text
    for row in (("Spectrometer", "Lab B-12", "Kenji Watanabe"),
                ("Centrifuge", "Lab A-03", "Maria Lopez")):
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    doc.add_heading("Safety", level=2)
    doc.add_paragraph("Fire drills happen on the first Monday of every quarter.")
    doc.save(str(out / "project_handbook.docx"))

    doc = Document()
    doc.core_properties.title = "経理規程"
    doc.add_heading("経費精算", level=1)
    doc.add_paragraph("経費精算の締め日は毎月25日です。締め日を過ぎた申請は翌月の処理になります。")
    doc.add_heading("交通費", level=2)
    doc.add_paragraph("新幹線の利用は片道100キロメートル以上の出張に限ります。")
    doc.add_heading("上限額", level=2)
    table = doc.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "項目"
    table.rows[0].cells[1].text = "上限額"
    for item, amount in (("宿泊費", "12,000円"), ("日当", "3,000円")):
        cells = table.add_row().cells
        cells[0].text = item
        cells[1].text = amount
    doc.save(str(out / "経理規程.docx"))


def make_pptx(out: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.core_properties.title = "Quarterly Review Q3 2024"
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    slide.shapes.title.text = "Quarterly Review Q3 2024"
    slide.placeholders[1].text = "Prepared by the finance team"

    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Sales"
    body = slide.placeholders[1].text_frame
    body.text = "Revenue grew 14% to 8.6 million dollars."
    for text, level in (("Europe was the strongest region", 0), ("Germany led Europe", 1)):
        para = body.add_paragraph()
        para.text = text
        para.level = level

    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Hiring"
    rows = (("Team", "New hires"), ("Support", "5"), ("Engineering", "9"))
    shape = slide.shapes.add_table(len(rows), 2, Inches(1), Inches(2), Inches(6), Inches(1.5))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            shape.table.cell(r, c).text = text
    slide.notes_slide.notes_text_frame.text = "Mention that the Osaka office opens in April 2025."

    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "今後の予定"
    slide.placeholders[1].text_frame.text = "新製品の発表は2025年5月20日です。"
    prs.save(str(out / "quarterly_review.pptx"))


def make_xlsx(out: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Parts"
    ws.append(["Part", "Quantity", "Warehouse", "Last audit"])
    ws.append(["Valve V-200", 48, "Rotterdam", dt.date(2024, 9, 30)])
    ws.append(["Pump P-7", 3, "Hamburg", dt.date(2024, 10, 2)])
    ws.append(["Seal kit S-12", 250, "Rotterdam", None])
    ws.append([None, None, None, None])
    ws.append(["Total", "=SUM(B2:B4)", None, None])
    ws2 = wb.create_sheet("在庫")
    ws2.append(["品名", "数量", "保管場所"])
    ws2.append(["ボルトM8", 1200, "名古屋倉庫"])
    ws2.append(["ナットM8", 950, "名古屋倉庫"])
    wb.save(str(out / "inventory.xlsx"))


def make_text_files(out: Path) -> None:
    rows = [["顧客名", "都市", "担当者"], ["株式会社山田製作所", "名古屋", "佐藤"],
            ["髙橋商事", "札幌", "鈴木"], ["有限会社①デザイン", "福岡", "田中"]]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    # cp932, not shift_jis: 髙 and ① exist only in Microsoft's extension, as in real files.
    (out / "customers_cp932.csv").write_bytes(buffer.getvalue().encode("cp932"))

    (out / "meeting_notes_sjis.txt").write_bytes((
        "定例会議のお知らせ\r\n\r\n"
        "次回の定例会議は4月8日（月）午前10時から第3会議室で開催します。\r\n"  # noqa: RUF001
        "議題は①予算の見直し、②新人研修の日程です。\r\n\r\n"
        "髙木部長が司会を務めます。\r\n").encode("cp932"))
    (out / "release_notes_utf16.txt").write_bytes((
        "Release notes\n\n"
        "Version 2.4 fixes the printer crash reported by the Kyoto team.\n\n"
        "バージョン2.4では印刷時のクラッシュを修正しました。\n").encode("utf-16"))
    (out / "backup_utf8_bom.txt").write_bytes((
        "Backup notes\n\nThe backup server is named HEARTH-BK-02.\n"
        "Backups run every night at 01:30.\n").encode("utf-8-sig"))
    (out / "onboarding.md").write_text(
        "# Onboarding\n\n"
        "Welcome to the team. This page lists what to do in your first week.\n\n"
        "## Laptop setup\n\n"
        "Laptops are encrypted with a 12-character recovery key.\n"
        "Keep the key in the password manager.\n\n"
        "```bash\n"
        "sudo fdesetup status\n"
        "\n"
        "sudo fdesetup enable\n"
        "```\n\n"
        "## Contacts\n\n"
        "- IT desk: extension 4321\n"
        "- Facilities: extension 4400\n\n"
        "### 日本語の窓口\n\n"
        "大阪オフィスの窓口は総務部の森さんです。\n", encoding="utf-8")
    (out / "faq.html").write_text(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Shop FAQ</title>\n"
        "<style>body { font-family: sans-serif; }</style>\n"
        "<script>var tracking = 'this is not content';</script></head>\n"
        "<body><nav><a href=\"/\">Home</a></nav>\n"
        "<h1>Frequently asked questions</h1>\n"
        "<h2>Returns</h2>\n<p>Returns are accepted within <b>30 days</b> of purchase.\n"
        "Keep the receipt.</p>\n"
        "<h2>Shipping</h2>\n<p>Orders ship from our warehouse in Leeds.</p>\n"
        "<table><tr><th>Zone</th><th>Cost</th></tr>\n"
        "<tr><td>UK</td><td>&pound;3.95</td></tr>\n"
        "<tr><td>EU</td><td>&euro;9.50</td></tr></table>\n"
        "<ul><li>Tracking numbers are sent by email.</li><li>Parcels need a signature.</li></ul>\n"
        "</body></html>\n", encoding="utf-8")
    (out / "faq_ja_sjis.html").write_bytes((
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">"
        "<title>よくある質問</title></head>\n<body>\n<h1>よくある質問</h1>\n"
        "<h2>返品について</h2>\n<p>返品は購入日から30日以内に受け付けます。</p>\n"
        "<h2>配送について</h2>\n<p>通常、ご注文から3営業日以内に発送します。</p>\n"
        "</body></html>\n").encode("cp932"))
    (out / "inventory_report.py").write_text(
        '"""Print the parts that need reordering."""\n\n'
        "REORDER_LEVEL = 20\n\n\n"
        "def needs_reorder(quantity: int) -> bool:\n"
        '    """A part is reordered when fewer than REORDER_LEVEL are left."""\n'
        "    return quantity < REORDER_LEVEL\n\n\n"
        "def main() -> None:\n"
        '    for part, quantity in [("Pump P-7", 3), ("Valve V-200", 48)]:\n'
        "        if needs_reorder(quantity):\n"
        "            print(part)\n", encoding="utf-8")


FIXED_TIME = (2024, 1, 1, 0, 0, 0)
_CORE_DATE_RE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def make_deterministic(path: Path) -> None:
    """Rewrite an Office zip with fixed member timestamps and document dates, so the same
    versions of the libraries give byte-identical files."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = _CORE_DATE_RE.sub(rb"\g<1>2024-01-01T00:00:00Z\g<3>", data)
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            archive.writestr(fixed, data)


def make_all(out: Path) -> list[Path]:
    """Write every test document into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    make_pdfs(out)
    make_docx(out)
    make_pptx(out)
    make_xlsx(out)
    make_text_files(out)
    for path in out.iterdir():
        if path.suffix in (".docx", ".pptx", ".xlsx"):
            make_deterministic(path)
    return sorted(set(out.iterdir()) - before or set(out.iterdir()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write into")
    parser.add_argument("--long-pdf", type=Path, help="write only a long English PDF here")
    parser.add_argument("--pages", type=int, default=200, help="pages of --long-pdf")
    args = parser.parse_args(argv)
    if args.long_pdf:
        write_pdf(args.long_pdf, long_pdf_pages(args.pages), title="Long test document")
        print(args.long_pdf)
        return 0
    for path in make_all(args.out):
        print(f"{path.stat().st_size:>8}  {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
