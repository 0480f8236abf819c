"""What the format readers share: limits, cancellation, progress, text clean-up and the block
collector that keeps memory bounded.

The readers (`extract_pdf`, `extract_office`, `extract_text`) each turn one open file into blocks
through an `ExtractionJob`; `extract.py` picks the reader and turns OS errors into messages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.chat import CancelToken
from app.core.documents.model import Block, BlockKind
from app.core.errors import DocumentError

MB = 1024 * 1024

Progress = Callable[[int, int | None], None]
"""progress(done_pages, total_pages or None)."""


class ExtractionCancelled(Exception):
    """The caller's CancelToken was set while a document was being read. Not a DocumentError:
    nothing is wrong with the file."""


@dataclass(frozen=True)
class Limits:
    """How much of a file extraction will read. Files over a size limit are refused before
    reading; past `max_pages`, `max_chars` or `max_rows_per_sheet` the rest is skipped with a
    warning, so memory stays bounded whatever the input."""

    text_bytes: int = 50 * MB
    """Plain text, Markdown, code, CSV and HTML."""
    pdf_bytes: int = 500 * MB
    office_bytes: int = 200 * MB
    """DOCX / PPTX / XLSX as stored (compressed)."""
    office_uncompressed_bytes: int = 200 * MB
    """The total of the members of a DOCX / PPTX / XLSX zip once unpacked (zip bombs)."""
    office_max_ratio: float = 100.0
    """Largest uncompressed/compressed ratio of one big zip member (zip bombs)."""
    office_max_members: int = 20_000
    max_pages: int = 5_000
    max_chars: int = 10_000_000
    """About 5 000 pages of dense text; far past what a chat can use."""
    max_rows_per_sheet: int = 10_000
    max_columns: int = 200

    def max_bytes(self, family: str) -> int:
        """The size limit for a reader family: "text", "pdf" or "office"."""
        return {"text": self.text_bytes, "pdf": self.pdf_bytes,
                "office": self.office_bytes}[family]


def display_name(path: Path) -> str:
    """How messages name a file: its name in quotes."""
    return f"\u201c{path.name}\u201d"


def size_text(size: int) -> str:
    """'500 MB', '3.2 MB', '12 KB'."""
    if size >= 10 * MB:
        return f"{size / MB:.0f} MB"
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


@dataclass
class ExtractionJob:
    """One file being read: collects blocks and warnings, checks cancellation, reports progress
    and enforces the character limit."""

    path: Path
    limits: Limits
    cancel: CancelToken | None = None
    progress: Progress | None = None
    blocks: list[Block] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chars: int = 0
    full: bool = False
    """Set once `limits.max_chars` is reached; readers stop reading."""

    @property
    def name(self) -> str:
        return display_name(self.path)

    def check_cancel(self) -> None:
        """Raise ExtractionCancelled if the caller asked to stop."""
        if self.cancel is not None and self.cancel.cancelled:
            raise ExtractionCancelled(str(self.path))

    def report(self, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def add(self, text: str, page: int | None, heading_path: tuple[str, ...] = (),
            kind: BlockKind = "paragraph") -> bool:
        """Add a block (blank text is skipped); False once the character limit is reached."""
        if self.full:
            return False
        text = text.strip()
        if not text:
            return True
        room = self.limits.max_chars - self.chars
        if len(text) > room:
            text = text[:room]
            self.full = True
            self.warn(f"{self.name} is very long: only the first "
                      f"{self.limits.max_chars:,} characters were read.")
        if text:
            self.blocks.append(Block(text, page, heading_path, kind))
            self.chars += len(text)
        return not self.full

    def fail(self, message: str) -> DocumentError:
        """A DocumentError naming this file (raise it)."""
        return DocumentError(f"{self.name} {message}", detail=str(self.path))


# --- Text clean-up ----------------------------------------------------------------------------

# C0 and C1 controls except tab, newline and carriage return; U+FFFE/U+FFFF non-characters and
# lone surrogates, which cannot be stored or encoded.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_CJK = ("\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3200-\u4dbf\u4e00-\u9fff"
        "\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef")
_CJK_SPACE_RE = re.compile(f"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
CJK_RE = re.compile(f"[{_CJK}\U00020000-\U0003ffff]")


def clean_text(text: str) -> str:
    """Drop NULs and control characters (they break storage and tokenizers); keep the text
    otherwise as it is (no NFKC: citations show what the document says)."""
    return _CONTROL_RE.sub("", text)


def is_cjk(char: str) -> bool:
    """Whether `char` is a CJK ideograph, kana, hangul or full-width form/punctuation: text in
    which a line break is not a word break."""
    return bool(CJK_RE.match(char))


def join_lines(lines: list[str]) -> str:
    """Join the lines of one paragraph as the writer meant them: a hyphen at a line end before a
    lower-case letter is a typesetter's break ("main-" + "tenance"), a break between CJK
    characters is no space at all, anything else is one space."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
            continue
        last, first = out[-1], line[0]
        if last in "-\u00ad\u2010" and len(out) > 1 and out[-2].isalpha() and first.islower():
            out = out[:-1] + line
        elif is_cjk(last) or is_cjk(first):
            out += line
        else:
            out += " " + line
    return out


def drop_cjk_spaces(text: str) -> str:
    """Remove the spaces PDF text extraction invents between CJK characters (Japanese has no
    spaces between words, so one there is an artefact of glyph spacing)."""
    return _CJK_SPACE_RE.sub("", text)


def normalised_for_compare(text: str) -> str:
    """NFKC and no whitespace: for tests and heuristics that compare text, never stored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def markdown_table(rows: list[list[str]]) -> str:
    """Rows as a Markdown-like table; the first row is the header. Pipes and newlines in cells
    are escaped so one row stays one line."""
    width = max((len(r) for r in rows), default=0)
    if width == 0:
        return ""

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = []
    for i, row in enumerate(rows):
        cells = [cell(c) for c in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0 and len(rows) > 1:
            lines.append("|" + "---|" * width)
    return "\n".join(lines)
