"""PDF text, page by page, with pdfium (pypdfium2: BSD/Apache; PyMuPDF is AGPL).

pdfium gives each page's text as lines in reading order; the baseline, font size and weight of
each line's first character group lines into paragraphs (a wider gap, a size change, a short
last line ending a sentence) and spot headings (bigger or bold short lines). Lines inside a
paragraph are joined as written: Japanese without the spaces a line break would otherwise add,
English hyphenated breaks ("main-" "tenance") rejoined.

pdfium is not thread-safe, not even across different documents, so every pdfium call happens
under one module-level lock, and every page, text page and document is closed explicitly in a
`finally` while the lock is held (never left to a garbage collector running on another thread).
"""

from __future__ import annotations

import ctypes
import itertools
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any

from app.core.documents.extract_common import (
    CJK_RE,
    ExtractionJob,
    clean_text,
    is_cjk,
    join_lines,
)

_PDFIUM_LOCK = threading.Lock()

# pdfium marks a hyphen it judged to be a line-end hyphenation with U+FFFE (older builds: 0x02)
# and may or may not keep the line break after it.
_SOFT_HYPHEN_MARK = "\ufffe\x02"
_LINE_RE = re.compile(r"[^\r\n]+")
_PAGE_NUMBER_RE = re.compile(r"(?:page\s*)?[-\u2013\u2014]?\s*\d{1,5}\s*[-\u2013\u2014]?"
                             r"(?:\s*(?:/|of)\s*\d{1,5})?", re.IGNORECASE)
_SENTENCE_END = ".!?:;\u3002\uff01\uff1f\uff1a\u300d\u300f)"


@dataclass(frozen=True)
class _Line:
    text: str
    x: float
    y: float
    """Baseline of the first character, PDF units (y grows upwards)."""
    y_end: float
    """Baseline of the last character: pdfium joins a hyphenated line with the next one."""
    x_end: float
    right: float
    size: float
    bold: bool

    @property
    def column_x(self) -> float:
        """Where a vertical column stands: the origin of a full-width character (a half-width
        one, such as a digit, sits off the column's axis)."""
        return self.x_end if is_cjk(self.text.rstrip()[-1:] or "a") else self.x

    @property
    def vertical(self) -> bool:
        """Set in a vertical column (Japanese tategaki): it runs down, not across."""
        return self.y - self.y_end > 1.5 * self.size and abs(self.x_end - self.x) < self.size


@dataclass
class _Para:
    lines: list[_Line]

    @property
    def size(self) -> float:
        return self.lines[0].size

    @property
    def text(self) -> str:
        return join_lines([line.text for line in self.lines])


def read_pdf(job: ExtractionJob, stream: IO[bytes]) -> tuple[str, int]:
    """Read the PDF in `stream` into `job`; returns (metadata title, page count)."""
    import pypdfium2 as pdfium

    is_pdf, complete = _file_shape(stream)
    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(stream)
        except pdfium.PdfiumError as exc:
            raise _open_error(job, exc, is_pdf, complete) from exc
        try:
            if not complete:
                job.warn(f"{job.name} seems incomplete (it lacks the end-of-file marker): it may "
                         "have been cut short, and pages may be missing.")
            return _read_document(job, pdf)
        finally:
            pdf.close()


def _file_shape(stream: IO[bytes]) -> tuple[bool, bool]:
    """(starts like a PDF, ends like one): the "%PDF-" header near the start, "%%EOF" near
    the end (writers may add a little junk around them). A download cut short lacks the end."""
    head = stream.read(1024)
    size = stream.seek(0, 2)
    stream.seek(max(0, size - 2048))
    tail = stream.read()
    stream.seek(0)
    return b"%PDF-" in head, b"%%EOF" in tail


def _open_error(job: ExtractionJob, exc: Any, is_pdf: bool, complete: bool) -> Exception:
    import pypdfium2.raw as pdfium_c

    code = getattr(exc, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return job.fail("is password-protected. Open it in a PDF reader, save a copy without "
                        "the password, and add that copy.")
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return job.fail("uses an encryption Hearth cannot open. Save a copy without "
                        "protection and add that copy.")
    if code == pdfium_c.FPDF_ERR_SUCCESS:
        return job.fail("has no pages.")
    if code == pdfium_c.FPDF_ERR_FILE:
        return job.fail("could not be read from the disk.")
    if not is_pdf:
        return job.fail("is not a PDF: it may be another kind of file with a .pdf name.")
    if not complete:
        return job.fail("is incomplete (truncated): the end of the file is missing, as when a "
                        "download or copy is cut short. Get the whole file again.")
    return job.fail("is damaged or is not a real PDF (it may be truncated or only partly "
                    "downloaded). Open it in a PDF reader to check it.")


def _read_document(job: ExtractionJob, pdf: Any) -> tuple[str, int]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    total = len(pdf)
    title = clean_text(pdf.get_metadata_value("Title")).strip()
    count = min(total, job.limits.max_pages)
    if count < total:
        job.warn(f"{job.name} has {total:,} pages: only the first {count:,} were read.")
    job.report(0, count)
    without_text: list[int] = []
    unreadable: list[int] = []
    headings: list[tuple[float, str]] = []
    for index in range(count):
        job.check_cancel()
        number = index + 1
        try:
            page = pdf.get_page(index)
        except pdfium.PdfiumError:
            unreadable.append(number)
            job.report(number, count)
            continue
        try:
            textpage = page.get_textpage()
            try:
                lines = _page_lines(textpage, pdfium_c)
            finally:
                textpage.close()
            if not lines and pdfium_c.FPDFPage_CountObjects(page) > 0:
                # Something is drawn but nothing is text: an image (a scan) or text as paths.
                without_text.append(number)
        finally:
            page.close()
        _add_paragraphs(job, number, lines, headings)
        job.report(number, count)
        if job.full:
            break
    if unreadable:
        if len(unreadable) == count:
            raise job.fail("is damaged: none of its pages could be read.")
        job.warn(f"{job.name}: {_pages_text(unreadable)} could not be read (damaged).")
    if not job.blocks:
        if without_text:
            raise job.fail("has no text layer (needs OCR): its pages are images, as in a "
                           "scanned document. Hearth cannot read text in images; run it "
                           "through OCR software first.")
        raise job.fail("contains no text.")
    if without_text:
        job.warn(f"{job.name}: {_pages_text(without_text)} no text layer (scanned?) and "
                 f"{'was' if len(without_text) == 1 else 'were'} skipped; OCR would be needed.")
    return title, total


def _pages_text(pages: list[int]) -> str:
    shown = ", ".join(str(p) for p in pages[:20])
    more = f" and {len(pages) - 20} more" if len(pages) > 20 else ""
    if len(pages) == 1:
        return f"page {shown} has"
    return f"pages {shown}{more} have"


def _page_lines(textpage: Any, c: Any) -> list[_Line]:
    """The page's text lines with the position and font of their first character."""
    n_chars = c.FPDFText_CountChars(textpage)
    if n_chars <= 0:
        return []
    # Generous: pdfium may insert characters (generated spaces, line breaks) beyond the count.
    buffer = (ctypes.c_ushort * (2 * n_chars + 2))()
    written = c.FPDFText_GetText(textpage, 0, n_chars, buffer)
    if written <= 1:
        return []
    raw = bytes(memoryview(buffer)[: written - 1]).decode("utf-16-le", errors="replace")
    x, y = ctypes.c_double(), ctypes.c_double()
    left, right = ctypes.c_double(), ctypes.c_double()
    bottom, top = ctypes.c_double(), ctypes.c_double()
    lines: list[_Line] = []
    for match in _LINE_RE.finditer(raw):
        piece, start = match.group(), match.start()
        if " " in piece:
            piece = _drop_generated_cjk_spaces(textpage, c, piece, start)
        text = clean_text(_fix_hyphen_marks(piece))
        if not text.strip():
            continue
        offset = len(piece) - len(piece.lstrip())
        first = c.FPDFText_GetCharIndexFromTextIndex(textpage, start + offset)
        last = c.FPDFText_GetCharIndexFromTextIndex(textpage, start + len(piece.rstrip()) - 1)
        if first < 0 or not c.FPDFText_GetCharOrigin(textpage, first, x, y):
            # No geometry: keep the text as its own line far below the previous one.
            y_far = lines[-1].y_end - 1000 if lines else 0.0
            lines.append(_Line(text, 0.0, y_far, y_far, 0.0, 0.0, 0.0, False))
            continue
        start_x, start_y = x.value, y.value
        end, end_x, end_y = start_x, start_x, start_y
        if last >= 0 and c.FPDFText_GetCharBox(textpage, last, left, right, bottom, top):
            end = right.value
            if c.FPDFText_GetCharOrigin(textpage, last, x, y):
                end_x, end_y = x.value, y.value
        size = round(float(c.FPDFText_GetFontSize(textpage, first)), 1)
        weight = c.FPDFText_GetFontWeight(textpage, first)
        lines.append(_Line(text, start_x, start_y, end_y, end_x, end, size, weight >= 600))
    return lines


def _drop_generated_cjk_spaces(textpage: Any, c: Any, piece: str, start: int) -> str:
    """Remove the spaces pdfium inserted between two CJK characters (where glyphs stand a
    little apart, as in justified Japanese); spaces written in the PDF stay."""
    chars = list(piece)
    for i in range(len(chars) - 2, 0, -1):
        if chars[i] == " " and CJK_RE.match(chars[i - 1]) and CJK_RE.match(chars[i + 1]):
            index = c.FPDFText_GetCharIndexFromTextIndex(textpage, start + i)
            if index < 0 or c.FPDFText_IsGenerated(textpage, index) == 1:
                del chars[i]
    return "".join(chars)


def _fix_hyphen_marks(text: str) -> str:
    """A marked hyphen at a line end stays a hyphen (the paragraph joiner decides); one inside
    a line (pdfium already removed the break) is dropped, rejoining the word."""
    stripped = text.rstrip()
    if stripped and stripped[-1] in _SOFT_HYPHEN_MARK:
        stripped = stripped[:-1] + "-"
    return "".join(ch for ch in stripped if ch not in _SOFT_HYPHEN_MARK)


def _paragraphs(lines: list[_Line]) -> list[_Para]:
    """Group lines into paragraphs by spacing, size and where lines end."""
    if not lines:
        return []
    if 2 * sum(line.vertical for line in lines) > len(lines):
        return _vertical_paragraphs(lines)
    gaps = sorted(prev.y_end - cur.y for prev, cur in itertools.pairwise(lines)
                  if cur.size == prev.size and 0 < prev.y_end - cur.y < 4 * max(cur.size, 1.0))
    # The line spacing inside paragraphs: a low quantile, as paragraph gaps may be as many.
    leading = gaps[len(gaps) // 4] if gaps else None
    widths = [line.right for line in lines if line.right > 0]
    right_edge = max(widths) if widths else 0.0
    paras: list[_Para] = [_Para([lines[0]])]
    for prev, cur in itertools.pairwise(lines):
        gap = prev.y_end - cur.y
        limit = leading * 1.3 if leading else max(cur.size, 1.0) * 1.6
        short_end = (prev.text.rstrip()[-1:] in _SENTENCE_END
                     and prev.right < prev.x + 0.75 * (right_edge - prev.x))
        # A first-line indent starts a paragraph (usual in Japanese and in books).
        indented = cur.x > prev.x + 0.8 * max(cur.size, 1.0)
        new = (gap <= 0 or gap > limit or abs(cur.size - prev.size) > 0.5
               or cur.bold != prev.bold or short_end or indented)
        if new:
            paras.append(_Para([cur]))
        else:
            paras[-1].lines.append(cur)
    return paras


def _vertical_paragraphs(lines: list[_Line]) -> list[_Para]:
    """Paragraphs of a page set in vertical columns. pdfium returns the columns left to right;
    they are read right to left, tier by tier from the top (a column belongs to the tier whose
    vertical extent it overlaps)."""
    tiers: list[tuple[float, float, list[_Line]]] = []  # (top, bottom, columns)
    for line in sorted(lines, key=lambda ln: -ln.y):
        for i, (top, bottom, columns) in enumerate(tiers):
            if line.y >= bottom - line.size and line.y_end <= top + line.size:
                columns.append(line)
                tiers[i] = (max(top, line.y), min(bottom, line.y_end), columns)
                break
        else:
            tiers.append((line.y, line.y_end, [line]))
    paras: list[_Para] = []
    for _top, _bottom, columns in tiers:
        columns.sort(key=lambda ln: -ln.column_x)
        pitches = sorted(prev.column_x - cur.column_x
                         for prev, cur in itertools.pairwise(columns)
                         if cur.size == prev.size
                         and 0 < prev.column_x - cur.column_x < 4 * max(cur.size, 1.0))
        pitch = pitches[len(pitches) // 4] if pitches else None
        longest = max(ln.y - ln.y_end for ln in columns)
        paras.append(_Para([columns[0]]))
        for prev, cur in itertools.pairwise(columns):
            gap = prev.column_x - cur.column_x
            limit = pitch * 1.4 if pitch else max(cur.size, 1.0) * 1.8
            short_end = (prev.text.rstrip()[-1:] in _SENTENCE_END
                         and prev.y - prev.y_end < 0.75 * longest)
            indented = cur.y < prev.y - 0.8 * max(cur.size, 1.0)  # starts lower down
            if (gap <= 0 or gap > limit or abs(cur.size - prev.size) > 0.5 or short_end
                    or indented):
                paras.append(_Para([cur]))
            else:
                paras[-1].lines.append(cur)
    return paras


def _add_paragraphs(job: ExtractionJob, page: int, lines: list[_Line],
                    headings: list[tuple[float, str]]) -> None:
    paras = _paragraphs(lines)
    if not paras:
        return
    # The body size is the size most characters are set in.
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0]
    top, bottom = max(line.y for line in lines), min(line.y_end for line in lines)
    for i, para in enumerate(paras):
        text = para.text
        edge = i in (0, len(paras) - 1) or para.lines[0].y in (top, bottom)
        if edge and _PAGE_NUMBER_RE.fullmatch(text.strip()):
            continue  # a running page number, not content
        rank = _heading_rank(para, body, text)
        if rank is not None:
            # A heading closes every open heading of the same or a lower rank.
            while headings and headings[-1][0] <= rank:
                headings.pop()
            headings.append((rank, text))
            if not job.add(text, page, tuple(h for _, h in headings[:-1]), "heading"):
                return
            continue
        if not job.add(text, page, tuple(h for _, h in headings)):
            return


def _heading_rank(para: _Para, body: float, text: str) -> float | None:
    """How prominent a heading `para` is (bigger is higher), or None for body text: a short
    paragraph set clearly bigger than the body, or a short bold line not ending a sentence."""
    if len(para.lines) > 3 or len(text) > 150 or not text.strip():
        return None
    if para.size >= body * 1.15:
        return para.size + (0.5 if para.lines[0].bold else 0.0)
    if (len(para.lines) == 1 and para.lines[0].bold and len(text) <= 80
            and text.rstrip()[-1] not in ".,;:\u3002\u3001" and para.size >= body):
        return para.size + 0.5
    return None
