"""The shapes documents take between extraction, chunking and the index.

Extraction (`extract.py`) turns a file into `Block`s that keep the structure the format has (pages,
headings, tables); chunking and citations read only these types, never a parser's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BlockKind = Literal["heading", "paragraph", "table", "code", "list"]
DocumentKind = Literal["pdf", "docx", "pptx", "xlsx", "csv", "text", "markdown", "html", "code"]


@dataclass(frozen=True)
class Block:
    """A run of text with one structural role, on one page."""

    text: str
    page: int | None
    """1-based page (PDF page, PPTX slide, XLSX sheet number); None where the format has none."""
    heading_path: tuple[str, ...] = ()
    """The headings this block sits under, outermost first (a sheet or slide title counts)."""
    kind: BlockKind = "paragraph"


@dataclass(frozen=True)
class ExtractedDocument:
    """A file's text, in reading order, with where each part came from."""

    path: Path
    kind: DocumentKind
    title: str
    sha256: str
    """Hash of the file's bytes: re-adding an unchanged file is free."""
    blocks: tuple[Block, ...]
    page_count: int | None = None
    warnings: tuple[str, ...] = ()
    """Non-fatal problems worth showing (a page without text, an encoding guessed)."""

    @property
    def text(self) -> str:
        """The whole text, blocks separated by blank lines."""
        return "\n\n".join(b.text for b in self.blocks)
