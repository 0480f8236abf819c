"""Word, PowerPoint and Excel files (python-docx, python-pptx, openpyxl).

All three are zip files of XML. Before a parser sees one, `check_zip` refuses archives that
would unpack to more than `Limits.office_uncompressed_bytes` or that compress suspiciously well
(a zip bomb). The sizes it checks are the ones the zip declares; Python's zipfile never
inflates a member past its declared size (it stops, and the CRC check fails), so a zip that
lies about its sizes cannot get past the limit either.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from app.core.documents.extract_common import (
    MB,
    ExtractionJob,
    clean_text,
    markdown_table,
    size_text,
)
from app.core.documents.model import BlockKind

_TABLE_BLOCK_CHARS = 3000
"""Long tables are cut into blocks of about this size, each repeating the header row."""
_SMALL_MEMBER = 1 * MB
"""Members smaller than this may compress as well as they like (a tiny repetitive XML part
compresses over 100x without being a bomb)."""
_HEADING_RE = re.compile(r"(?:heading|見出し)\s*([1-9])$", re.IGNORECASE)
_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def check_zip(job: ExtractionJob, stream: IO[bytes], label: str) -> None:
    """Refuse a damaged archive or a zip bomb before any parser reads it."""
    limits = job.limits
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise job.fail(f"is not a valid {label} file: it is damaged, or it is another kind of "
                       "file with the wrong extension.") from exc
    if len(infos) > limits.office_max_members:
        raise job.fail(f"holds {len(infos):,} parts, more than a real {label} file has; it was "
                       "not opened (it may be a zip bomb).")
    total = sum(info.file_size for info in infos)
    if total > limits.office_uncompressed_bytes:
        raise job.fail(f"would unpack to {size_text(total)} (the limit is "
                       f"{size_text(limits.office_uncompressed_bytes)}); it was not opened "
                       "(it may be a zip bomb).")
    for info in infos:
        if info.file_size < _SMALL_MEMBER:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.office_max_ratio:
            raise job.fail(f"contains a part that is compressed {ratio:,.0f} times "
                           f"({info.filename}, {size_text(info.file_size)} unpacked); it was "
                           "not opened (it looks like a zip bomb).")
    stream.seek(0)


def table_blocks(job: ExtractionJob, rows: list[list[str]], page: int | None,
                 heading_path: tuple[str, ...]) -> bool:
    """Add `rows` (first row = header) as table blocks of about `_TABLE_BLOCK_CHARS`, each
    repeating the header so a block found alone still says what its columns are."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return True
    header, body = rows[0], rows[1:]
    if not body:
        return job.add(markdown_table([header]), page, heading_path, "table")
    part: list[list[str]] = []
    size = 0
    for row in body:
        part.append(row)
        size += sum(len(c) + 3 for c in row)
        if size >= _TABLE_BLOCK_CHARS:
            if not job.add(markdown_table([header, *part]), page, heading_path, "table"):
                return False
            part, size = [], 0
    if part:
        return job.add(markdown_table([header, *part]), page, heading_path, "table")
    return True


# --- Word ---------------------------------------------------------------------------------------

def read_docx(job: ExtractionJob, stream: IO[bytes]) -> tuple[str, int | None]:
    """Paragraphs, headings (Heading n / Title / outline levels), list runs and tables, in
    document order. Word has no fixed pages, so blocks have no page."""
    check_zip(job, stream, "Word")
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE
    from docx.table import Table

    doc = Document(stream)
    title = clean_text(doc.core_properties.title or "").strip()
    # `paragraph.style` scans every style for the default on each call (seconds for a long
    # document): resolve each style id once.
    styles: dict[str | None, Any] = {}

    def style_of(paragraph: Any) -> Any:
        style_id = paragraph._p.style
        if style_id not in styles:
            styles[style_id] = doc.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
        return styles[style_id]

    headings: list[tuple[int, str]] = []
    items: list[str] = []

    def path() -> tuple[str, ...]:
        return tuple(h for _, h in headings)

    def flush_list() -> bool:
        ok = job.add("\n".join(items), None, path(), "list")
        items.clear()
        return ok

    for n, element in enumerate(doc.iter_inner_content()):
        if n % 200 == 0:
            job.check_cancel()
        if isinstance(element, Table):
            if (items and not flush_list()) or not table_blocks(
                    job, _docx_table_rows(element), None, path()):
                break
            continue
        text = clean_text(element.text).strip()
        if not text:
            continue
        style = style_of(element)
        level = _docx_heading_level(element, style)
        if level is not None:
            if items and not flush_list():
                break
            while headings and headings[-1][0] >= level:
                headings.pop()
            if not job.add(text, None, path(), "heading"):
                break
            headings.append((level, text))
            if level == 0 and not title:
                title = text
            continue
        list_level = _docx_list_level(element, style)
        if list_level is not None:
            items.append("  " * list_level + "- " + text)
            continue
        if (items and not flush_list()) or not job.add(text, None, path()):
            break
    if items:
        flush_list()
    return title, None


def _docx_heading_level(paragraph: Any, style: Any) -> int | None:
    """0 for Title, n for Heading n (any language Word stores it in), else the outline level
    set on the paragraph or its style."""
    name = (style.name or "") if style is not None else ""
    if name == "Title":
        return 0
    match = _HEADING_RE.search(name)
    if match:
        return int(match.group(1))
    for element in (paragraph._p, getattr(style, "element", None)):
        ppr = element.find(f"{_W_NS}pPr") if element is not None else None
        outline = ppr.find(f"{_W_NS}outlineLvl") if ppr is not None else None
        if outline is not None:
            value = outline.get(f"{_W_NS}val", "")
            # Level 9 means body text.
            if value.isdigit() and int(value) < 9:
                return int(value) + 1
    return None


def _docx_list_level(paragraph: Any, style: Any) -> int | None:
    """The indent level of a bulleted or numbered paragraph, None for ordinary ones."""
    ppr = paragraph._p.pPr
    num = ppr.numPr if ppr is not None else None
    if num is not None and num.ilvl is not None:
        return int(num.ilvl.val)
    if num is not None:
        return 0
    name = (style.name or "") if style is not None else ""
    return 0 if name.startswith("List") else None


def _docx_table_rows(table: Any) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans: keep it once.
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(clean_text(cell.text))
        rows.append(cells)
    return rows


# --- PowerPoint --------------------------------------------------------------------------------

def read_pptx(job: ExtractionJob, stream: IO[bytes]) -> tuple[str, int | None]:
    """One page per slide: its title as a heading, then its text boxes and tables in reading
    order (top to bottom, left to right), then the speaker notes."""
    check_zip(job, stream, "PowerPoint")
    from pptx import Presentation

    prs = Presentation(stream)
    title = clean_text(prs.core_properties.title or "").strip()
    slides = list(prs.slides)
    count = min(len(slides), job.limits.max_pages)
    if count < len(slides):
        job.warn(f"{job.name} has {len(slides):,} slides: only the first {count:,} were read.")
    job.report(0, count)
    for number, slide in enumerate(slides[:count], start=1):
        job.check_cancel()
        title_shape = slide.shapes.title
        slide_title = ""
        if title_shape is not None and title_shape.has_text_frame:
            slide_title = " ".join(clean_text(title_shape.text_frame.text).split())
        path = (slide_title,) if slide_title else ()
        job.add(slide_title, number, (), "heading")
        for shape in _pptx_shapes(slide.shapes):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            if getattr(shape, "has_table", False) and shape.has_table:
                rows = [[clean_text(cell.text) for cell in row.cells]
                        for row in shape.table.rows]
                table_blocks(job, rows, number, path)
            elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                text, kind = _pptx_text(shape)
                job.add(text, number, path, kind)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None:
                job.add(clean_text(notes.text), number, (*path, "Speaker notes"))
        job.report(number, count)
        if job.full:
            break
    return title, len(slides)


def _pptx_shapes(shapes: Any) -> Iterator[Any]:
    """Shapes in reading order, group shapes opened (without recursion)."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    def order(shape: Any) -> tuple[int, int]:
        return (shape.top or 0, shape.left or 0)

    stack = [sorted(shapes, key=order, reverse=True)]
    while stack:
        level = stack[-1]
        if not level:
            stack.pop()
            continue
        shape = level.pop()
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            stack.append(sorted(shape.shapes, key=order, reverse=True))
        else:
            yield shape


def _pptx_text(shape: Any) -> tuple[str, BlockKind]:
    """A text frame's paragraphs, indented by level; several paragraphs in a body placeholder
    are bullet points."""
    lines = []
    for para in shape.text_frame.paragraphs:
        text = clean_text("".join(run.text for run in para.runs) or para.text).strip()
        if text:
            lines.append(("  " * (para.level or 0), text))
    if len(lines) > 1 and shape.is_placeholder:
        return "\n".join(f"{indent}- {text}" for indent, text in lines), "list"
    return "\n".join(f"{indent}{text}" for indent, text in lines), "paragraph"


# --- Excel --------------------------------------------------------------------------------------

def read_xlsx(job: ExtractionJob, stream: IO[bytes]) -> tuple[str, int | None]:
    """One page per worksheet: the sheet name as a heading, its rows as table text (values,
    not formulas; at most `Limits.max_rows_per_sheet` rows and `max_columns` columns)."""
    check_zip(job, stream, "Excel")
    from openpyxl import load_workbook

    limits = job.limits
    book = load_workbook(stream, read_only=True, data_only=True)
    try:
        title = clean_text(book.properties.title or "").strip()
        sheets = list(book.worksheets)
        job.report(0, len(sheets))
        for number, sheet in enumerate(sheets, start=1):
            job.check_cancel()
            name = clean_text(sheet.title)
            job.add(name, number, (), "heading")
            rows: list[list[str]] = []
            scanned = 0
            wide = False
            for values in sheet.iter_rows(values_only=True, max_col=limits.max_columns + 1):
                scanned += 1
                if scanned % 1000 == 0:
                    job.check_cancel()
                if len(values) > limits.max_columns:
                    # Read-only sheets pad rows to max_col: only a value there is too wide.
                    wide = wide or values[limits.max_columns] not in (None, "")
                    values = values[: limits.max_columns]
                cells = [_cell_text(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                if not cells:
                    # Sheets may pad far past their data with empty rows.
                    if scanned > 10 * limits.max_rows_per_sheet:
                        break
                    continue
                if len(rows) >= limits.max_rows_per_sheet:
                    job.warn(f"{job.name}: sheet \u201c{name}\u201d has more than "
                             f"{limits.max_rows_per_sheet:,} rows; only the first "
                             f"{limits.max_rows_per_sheet:,} were read.")
                    break
                rows.append(cells)
            if wide:
                job.warn(f"{job.name}: sheet \u201c{name}\u201d has more than "
                         f"{limits.max_columns} columns; only the first "
                         f"{limits.max_columns} were read.")
            table_blocks(job, rows, number, (name,))
            job.report(number, len(sheets))
            if job.full:
                break
        return title, len(sheets)
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return clean_text(str(value))
