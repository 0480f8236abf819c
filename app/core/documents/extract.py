"""Turn a user's file into an `ExtractedDocument`: text blocks with pages and headings.

    doc = extract(Path("report.pdf"), cancel=token, progress=on_progress)

Formats: PDF (pypdfium2), DOCX, PPTX, XLSX, CSV, plain text, Markdown, HTML and source code.
Each failure a user can do something about is a `DocumentError` naming the file (damaged,
password-protected, scanned without a text layer, too big, not text, unreadable); a batch goes
on past it (`extract_many`). Sizes are checked before reading and long documents are cut at
`Limits`, so memory stays bounded. Meant to run on a worker thread: it polls `cancel` between
pages and calls `progress(done_pages, total_pages or None)`; the first call, (0, None), comes
before the file is opened.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import IO

from app.core.chat import CancelToken
from app.core.documents.extract_common import (
    MB,
    ExtractionCancelled,
    ExtractionJob,
    Limits,
    Progress,
    display_name,
    size_text,
)
from app.core.documents.model import DocumentKind, ExtractedDocument
from app.core.errors import DocumentError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ExtractionCancelled",
    "Limits",
    "extract",
    "extract_many",
    "is_supported",
    "iter_files",
]

log = logging.getLogger(__name__)

_CODE_SUFFIXES = (
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".java", ".kt", ".kts", ".scala",
    ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".cs", ".fs", ".vb", ".go", ".rs", ".rb",
    ".php", ".pl", ".pm", ".lua", ".r", ".m", ".mm", ".swift", ".dart", ".sh", ".bash", ".zsh",
    ".fish", ".ps1", ".psm1", ".bat", ".cmd", ".sql", ".json", ".jsonl", ".yaml", ".yml", ".toml",
    ".ini", ".cfg", ".conf", ".xml", ".xsd", ".svg", ".css", ".scss", ".less", ".vue", ".svelte",
    ".gradle", ".cmake", ".proto", ".graphql", ".ipynb",
)

SUPPORTED_SUFFIXES: Mapping[str, DocumentKind] = MappingProxyType({
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".csv": "csv", ".tsv": "csv",
    ".txt": "text", ".text": "text", ".log": "text", ".rst": "text", ".tex": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    **dict.fromkeys(_CODE_SUFFIXES, "code"),
})
"""Lower-case file suffix -> the kind of document it is read as."""

_LABELS: Mapping[DocumentKind, str] = {
    "pdf": "a PDF", "docx": "a Word document", "pptx": "a PowerPoint presentation",
    "xlsx": "an Excel workbook", "csv": "a CSV file", "text": "text", "markdown": "Markdown",
    "html": "a web page", "code": "source code",
}
_FAMILIES: Mapping[DocumentKind, str] = {
    "pdf": "pdf", "docx": "office", "pptx": "office", "xlsx": "office", "csv": "text",
    "text": "text", "markdown": "text", "html": "text", "code": "text",
}
_SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__"})
"""Folders that hold tools' files, not the user's documents (hidden folders are skipped too)."""
_HASH_CHUNK = 1 * MB
DEFAULT_LIMITS = Limits()


def is_supported(path: str | os.PathLike[str]) -> bool:
    """Whether extraction knows the file's type (by its suffix)."""
    return Path(path).suffix.lower() in SUPPORTED_SUFFIXES


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The files to add for what the user dropped: folders are walked recursively (sorted,
    without hidden or tool folders, keeping only supported files; symlinked folders are not
    followed, so loops are impossible); files named directly are yielded as they are, so
    `extract` can tell the user why an unsupported one was not added. Each file once."""
    seen: set[str] = set()

    def first_time(path: Path) -> bool:
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            return False
        seen.add(key)
        return True

    for item in paths:
        root = Path(item)
        if not root.is_dir():
            if first_time(root):
                yield root
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs
                             if d not in _SKIPPED_FOLDERS and not _hidden(Path(folder, d)))
            for name in sorted(files):
                path = Path(folder, name)
                if (is_supported(path) and not name.startswith("~$")  # Office lock files
                        and not _hidden(path) and path.is_file() and first_time(path)):
                    yield path


def _hidden(path: Path) -> bool:
    if path.name.startswith("."):
        return True
    try:
        attributes = getattr(path.stat(), "st_file_attributes", 0)
    except OSError:
        return True
    return bool(attributes & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0))


def extract(path: str | os.PathLike[str], *, cancel: CancelToken | None = None,
            progress: Progress | None = None, limits: Limits = DEFAULT_LIMITS) -> ExtractedDocument:
    """Read `path` into blocks. Raises DocumentError with a message for the user, or
    ExtractionCancelled when `cancel` is set."""
    path = Path(path)
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    name = display_name(path)
    if kind is None:
        what = f"{path.suffix} files" if path.suffix else "files without an extension"
        raise DocumentError(
            f"{name} was not added: Hearth cannot read {what}. It reads PDF, Word (.docx), "
            "PowerPoint (.pptx), Excel (.xlsx), CSV, text, Markdown, HTML and source code.",
            detail=str(path))
    try:
        info = path.stat()
    except OSError as exc:
        raise _os_error(path, exc) from exc
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError(f"{name} is not a file.", detail=str(path))
    if info.st_size == 0:
        raise DocumentError(f"{name} is empty (0 bytes).", detail=str(path))
    limit = limits.max_bytes(_FAMILIES[kind])
    if info.st_size > limit:
        raise DocumentError(f"{name} is too big ({size_text(info.st_size)}; the limit is "
                            f"{size_text(limit)} for {_LABELS[kind]}).", detail=str(path))
    job = ExtractionJob(path, limits, cancel, progress)
    job.report(0, None)
    try:
        with path.open("rb") as stream:
            # Parse first: a file that cannot be read is refused without hashing all of it.
            title, pages = _read(job, kind, stream)
            stream.seek(0)
            digest = _sha256(job, stream)
    except (DocumentError, ExtractionCancelled):
        raise
    except OSError as exc:
        raise _os_error(path, exc) from exc
    except MemoryError as exc:
        raise job.fail("is too big to read with the memory available.") from exc
    except Exception as exc:
        # The parsers raise all sorts (KeyError, ValueError, lxml and zip errors) on malformed
        # files; for the user they all mean the same. The log keeps the traceback in case it
        # was a bug of ours.
        log.warning("Could not read %s as %s", path, kind, exc_info=True)
        raise job.fail(f"could not be read as {_LABELS[kind]}: it may be damaged, or be "
                       f"another kind of file with the wrong extension "
                       f"({type(exc).__name__}).") from exc
    if not job.blocks:
        raise job.fail("contains no text.")
    if pages is None:
        job.report(1, 1)
    return ExtractedDocument(path=path, kind=kind, title=title or path.stem, sha256=digest,
                             blocks=tuple(job.blocks), page_count=pages,
                             warnings=tuple(job.warnings))


def _read(job: ExtractionJob, kind: DocumentKind, stream: IO[bytes]) -> tuple[str, int | None]:
    # Each reader imports its parser only when a file of its kind comes.
    if kind == "pdf":
        from app.core.documents.extract_pdf import read_pdf

        return read_pdf(job, stream)
    if kind in ("docx", "pptx", "xlsx"):
        from app.core.documents import extract_office

        reader = {"docx": extract_office.read_docx, "pptx": extract_office.read_pptx,
                  "xlsx": extract_office.read_xlsx}[kind]
        return reader(job, stream)
    from app.core.documents import extract_text

    if kind == "csv":
        return extract_text.read_csv(job, stream)
    if kind == "html":
        return extract_text.read_html(job, stream)
    mode: extract_text.TextMode = "markdown" if kind == "markdown" else (
        "code" if kind == "code" else "text")
    return extract_text.read_text(job, stream, mode)


def _sha256(job: ExtractionJob, stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(_HASH_CHUNK):
        digest.update(chunk)
        job.check_cancel()
    return digest.hexdigest()


def _os_error(path: Path, exc: OSError) -> DocumentError:
    if isinstance(exc, FileNotFoundError):
        reason = "it no longer exists (was it moved or deleted?)"
    elif isinstance(exc, PermissionError):
        reason = "permission denied"
    elif isinstance(exc, IsADirectoryError):
        reason = "it is a folder"
    else:
        reason = exc.strerror or str(exc)
    return DocumentError(f"{display_name(path)} could not be read: {reason}.",
                         detail=f"{path}: {exc}")


def extract_many(paths: Iterable[str | os.PathLike[str]], *, cancel: CancelToken | None = None,
                 progress: Callable[[Path, int, int | None], None] | None = None,
                 limits: Limits = DEFAULT_LIMITS
                 ) -> Iterator[tuple[Path, ExtractedDocument | DocumentError]]:
    """Extract each of `paths` (dropped folders expanded by `iter_files`) in turn, yielding
    (path, document) or (path, the DocumentError) so one bad file never stops the rest.
    Cancellation stops the whole batch (ExtractionCancelled)."""
    for path in iter_files(paths):
        on_progress = None
        if progress is not None:
            def on_progress(done: int, total: int | None, path: Path = path) -> None:
                progress(path, done, total)
        try:
            yield path, extract(path, cancel=cancel, progress=on_progress, limits=limits)
        except DocumentError as exc:
            log.info("Not added: %s", exc.detail or exc)
            yield path, exc
