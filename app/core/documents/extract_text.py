"""Plain text, Markdown, source code, CSV and HTML: encoding detection and streaming readers.

The encoding is decided from the first 64 KB (byte-order mark, then strict UTF-8, then
charset-normalizer, then cp932), then the file is decoded as a stream, a bounded line at a time,
so memory does not grow with the file. Binary data with a text extension is refused.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import IO, Literal

from app.core.documents.extract_common import ExtractionJob, clean_text
from app.core.documents.extract_office import table_blocks
from app.core.documents.model import BlockKind

_SAMPLE = 64 * 1024
_MAX_LINE = 64 * 1024
"""A longer line (minified JSON, a base64 blob) is read in pieces of this many characters."""
_MAX_BLOCK = 8000
"""Paragraphs longer than this are cut at a line boundary (chunking cuts further)."""
_CODE_BLOCK = 1500
"""Source code is cut at blank lines into blocks of up to about this many characters."""
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_JAPANESE_CODECS = {"shift_jis": "cp932", "shift_jis_2004": "cp932", "shift_jisx0213": "cp932",
                    "cp932": "cp932", "ms932": "cp932", "sjis": "cp932", "mskanji": "cp932"}
_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)",
                              re.IGNORECASE)
_BAD_CHARS_RE = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\ufffd]")

TextMode = Literal["text", "markdown", "code"]


class _Encoding:
    """The codec a file is decoded with, and a warning when it was a guess."""

    def __init__(self, codec: str, warning: str = "") -> None:
        self.codec = codec
        self.warning = warning


def detect_encoding(job: ExtractionJob, stream: IO[bytes], *, html: bool = False) -> _Encoding:
    """Decide how to decode `stream` from its first bytes; rewinds it. Raises DocumentError for
    data that is not text."""
    sample = stream.read(_SAMPLE)
    stream.seek(0)
    at_end = len(sample) < _SAMPLE
    encoding = _guess(sample, at_end, html)
    if encoding is None:
        raise job.fail("does not look like text (it may be a binary file with a text "
                       "extension).")
    decoded = codecs.getincrementaldecoder(encoding.codec)(errors="replace").decode(
        sample, final=at_end)
    if decoded and len(_BAD_CHARS_RE.findall(decoded)) > max(2, len(decoded) // 50):
        raise job.fail("does not look like text (it may be a binary file with a text "
                       "extension).")
    if encoding.warning:
        job.warn(f"{job.name}: {encoding.warning}")
    return encoding


def _guess(sample: bytes, at_end: bool, html: bool) -> _Encoding | None:
    for bom, codec, _name in _BOMS:
        if sample.startswith(bom):
            return _Encoding(codec)
    if html:
        match = _META_CHARSET_RE.search(sample[:4096])
        if match:
            name = match.group(1).decode("ascii").lower()
            try:
                codec = codecs.lookup(name).name
            except LookupError:
                codec = ""
            codec = _JAPANESE_CODECS.get(codec, codec)
            # Pages often declare the wrong charset: only trust one the bytes agree with.
            if codec and _decodes(sample, codec, at_end):
                return _Encoding(codec)
    if _decodes(sample, "utf-8", at_end):
        return _Encoding("utf-8")
    if b"\x00" in sample:
        return _utf16_without_bom(sample)
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and best.encoding:
        codec = _JAPANESE_CODECS.get(best.encoding, best.encoding)
        return _Encoding(codec, f"the text encoding was guessed as {codec}.")
    if _decodes(sample, "cp932", at_end):
        return _Encoding("cp932", "the text encoding was guessed as cp932 (Japanese Shift-JIS).")
    return None


def _decodes(sample: bytes, codec: str, at_end: bool) -> bool:
    """Whether `sample` is valid in `codec` (a character cut at the sample's end is fine)."""
    try:
        codecs.getincrementaldecoder(codec)().decode(sample, final=at_end)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _utf16_without_bom(sample: bytes) -> _Encoding | None:
    """Text saved as UTF-16 without a byte-order mark has a NUL in every other byte (for Latin
    text); any other NULs mean binary data."""
    head = sample[:4096]
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return _Encoding("utf-16-le", "the text encoding was guessed as UTF-16 (no BOM).")
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return _Encoding("utf-16-be", "the text encoding was guessed as UTF-16 (no BOM).")
    return None


def _text_stream(stream: IO[bytes], encoding: _Encoding, newline: str | None = None
                 ) -> io.TextIOWrapper:
    return io.TextIOWrapper(stream, encoding=encoding.codec, errors="replace",
                            newline=newline)


def _lines(job: ExtractionJob, text: io.TextIOWrapper) -> Iterator[str]:
    """Lines without their newline; over-long lines come in pieces of `_MAX_LINE`. Checks for
    cancellation every 2 000 lines."""
    n = 0
    while True:
        line = text.readline(_MAX_LINE)
        if not line:
            return
        n += 1
        if n % 2000 == 0:
            job.check_cancel()
        yield clean_text(line.rstrip("\n"))


def _warn_replaced(job: ExtractionJob, encoding: _Encoding) -> None:
    if any("\ufffd" in b.text for b in job.blocks):
        job.warn(f"{job.name}: some bytes were not valid {encoding.codec} and were replaced "
                 "by \ufffd.")


# --- Plain text, Markdown, code ---------------------------------------------------------------

class _Blocks:
    """Collects lines into blocks under the current heading path."""

    def __init__(self, job: ExtractionJob) -> None:
        self.job = job
        self.lines: list[str] = []
        self.size = 0
        self.kind: BlockKind = "paragraph"
        self.headings: list[tuple[int, str]] = []

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(h for _, h in self.headings)

    def add_line(self, line: str, kind: BlockKind, limit: int = _MAX_BLOCK) -> None:
        if self.lines and (kind != self.kind or self.size + len(line) > limit):
            self.flush()
        self.kind = kind
        self.lines.append(line)
        self.size += len(line) + 1

    def flush(self) -> None:
        if self.lines:
            text = "\n".join(self.lines)
            self.job.add(text if self.kind == "code" else text.strip(), None, self.path,
                         self.kind)
        self.lines, self.size = [], 0

    def heading(self, level: int, text: str) -> None:
        self.flush()
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.job.add(text, None, self.path, "heading")
        self.headings.append((level, text))


_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")
_SETEXT_RE = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_LIST_RE = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\S")


def _atx_heading(line: str) -> tuple[int, str] | None:
    """(level, text) of a Markdown "## Heading ##" line, else None. Plain string work: the
    obvious regex backtracks quadratically on long lines of spaces and '#'."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None
    level = len(stripped) - len(stripped.lstrip("#"))
    rest = stripped[level:]
    if not 1 <= level <= 6 or (rest and rest[0] not in " \t"):
        return None
    text = rest.strip(" \t")
    unclosed = text.rstrip("#")
    if unclosed != text and (not unclosed or unclosed[-1] in " \t"):
        text = unclosed.rstrip(" \t")  # the optional closing sequence
    return level, text


def read_text(job: ExtractionJob, stream: IO[bytes], mode: TextMode) -> tuple[str, int | None]:
    """Text split at blank lines into paragraphs; Markdown headings, fenced code, lists and
    tables keep their roles; source code becomes code blocks cut at blank lines."""
    encoding = detect_encoding(job, stream)
    text = _text_stream(stream, encoding)
    try:
        out = _Blocks(job)
        if mode == "code":
            _read_code(job, out, text)
        elif mode == "markdown":
            _read_markdown(job, out, text)
        else:
            for line in _lines(job, text):
                if job.full:
                    break
                if line.strip():
                    out.add_line(line, "paragraph")
                else:
                    out.flush()
        out.flush()
    finally:
        text.detach()
    _warn_replaced(job, encoding)
    title = next((b.text for b in job.blocks if b.kind == "heading"), "") if mode == "markdown" \
        else ""
    return title, None


def _read_code(job: ExtractionJob, out: _Blocks, text: io.TextIOWrapper) -> None:
    """Pieces between blank lines, merged into blocks of up to `_CODE_BLOCK` characters; the
    blank lines between merged pieces are kept as they were."""
    piece: list[str] = []
    blanks = 0  # blank lines before `piece`

    def end_piece() -> None:
        size = sum(len(line) + 1 for line in piece)
        if out.lines and out.size + blanks + size > _CODE_BLOCK:
            out.flush()
        if out.lines:
            for _ in range(blanks):
                out.add_line("", "code", limit=10**9)
        for line in piece:
            out.add_line(line, "code", limit=10**9)
        piece.clear()

    for line in _lines(job, text):
        if job.full:
            return
        if line.strip():
            piece.append(line)
            if sum(len(p) for p in piece) > _MAX_BLOCK:
                end_piece()
                blanks = 0
        elif piece:
            end_piece()
            blanks = 1
        else:
            blanks += 1
    if piece:
        end_piece()


def _read_markdown(job: ExtractionJob, out: _Blocks, text: io.TextIOWrapper) -> None:
    fence = ""
    for line in _lines(job, text):
        if job.full:
            return
        if fence:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                out.flush()
                fence = ""
            else:
                out.add_line(line, "code")
            continue
        match = _FENCE_RE.match(line)
        if match:
            out.flush()
            fence = match.group(1)
            out.kind = "code"
            continue
        atx = _atx_heading(line)
        if atx is not None:
            out.heading(*atx)
            continue
        setext = _SETEXT_RE.match(line)
        if setext and out.kind == "paragraph" and len(out.lines) == 1:
            title = out.lines[0].strip()
            out.lines, out.size = [], 0
            out.heading(1 if setext.group(1)[0] == "=" else 2, title)
            continue
        if not line.strip():
            out.flush()
        elif _LIST_RE.match(line) or (out.kind == "list" and line[:1] in " \t"):
            out.add_line(line.rstrip(), "list")
        elif line.lstrip().startswith("|"):
            out.add_line(line.strip(), "table")
        else:
            out.add_line(line, "paragraph")


# --- CSV ----------------------------------------------------------------------------------------

def read_csv(job: ExtractionJob, stream: IO[bytes]) -> tuple[str, int | None]:
    """Rows as table text; the delimiter is sniffed (comma, semicolon, tab or pipe)."""
    encoding = detect_encoding(job, stream)
    text = _text_stream(stream, encoding, newline="")
    try:
        # A few lines are enough, and the sniffer's regexes are quadratic in the sample.
        head = text.read(4096)
        head = head[: head.rfind("\n") + 1] or head
        text.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
                head, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        rows: list[list[str]] = []
        limits = job.limits
        try:
            for n, row in enumerate(csv.reader(text, dialect)):
                if n % 2000 == 0:
                    job.check_cancel()
                if len(rows) >= limits.max_rows_per_sheet:
                    job.warn(f"{job.name} has more than {limits.max_rows_per_sheet:,} rows; "
                             f"only the first {limits.max_rows_per_sheet:,} were read.")
                    break
                rows.append([clean_text(c) for c in row[: limits.max_columns]])
        except csv.Error as exc:
            raise job.fail(f"is not valid CSV ({exc}).") from exc
        table_blocks(job, rows, None, ())
    finally:
        text.detach()
    _warn_replaced(job, encoding)
    return "", None


# --- HTML ---------------------------------------------------------------------------------------

# Not "head": its end tag may be omitted, and its only text is the <title>, handled apart.
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "nav"})
_BLOCK = frozenset({"p", "div", "section", "article", "header", "footer", "aside", "main",
                    "blockquote", "ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "form",
                    "fieldset", "address", "details", "summary", "body", "html", "hr",
                    "caption", "center"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


class _TagReach:
    """Escapes each '<' that no '>' follows within `reach` characters, as text ("&lt;").

    The standard library's HTMLParser rescans everything after an unfinished '<' on every
    call and again for each '<' in it, so a page full of stray '<' (or an unclosed tag before
    megabytes of text) takes hours. A '<' whose tag cannot end within `reach` is text anyway;
    turning it into "&lt;" first keeps parsing linear. One forward scan, streaming: the last
    `reach` characters wait for the next chunk."""

    def __init__(self, reach: int = 256 * 1024) -> None:
        self.reach = reach
        self.pending = ""

    def feed(self, chunk: str, *, final: bool = False) -> str:
        text = self.pending + chunk
        self.pending = ""
        if final:
            head, rest = text, ""
        else:
            # After the last '>' the next chunk may still bring one: decide there only for
            # the '<' already more than `reach` from the end.
            cut = text.rfind(">") + 1
            head, tail = text[:cut], text[cut:]
            far = max(0, len(tail) - self.reach)
            rest = tail[:far].replace("<", "&lt;")
            self.pending = tail[far:]
        # Split on '>' (in C): only segments longer than `reach` hold a '<' to escape.
        parts = head.split(">")
        reach = self.reach
        for i in [i for i, part in enumerate(parts) if len(part) > reach]:
            part = parts[i]
            parts[i] = part[: len(part) - reach].replace("<", "&lt;") + part[-reach:]
        if final:  # after the last '>' of the file none will ever follow
            parts[-1] = parts[-1].replace("<", "&lt;")
        return ">".join(parts) + rest


class _HtmlBlocks(HTMLParser):
    """Turns HTML into blocks as it streams in. Keeps counters and flat stacks, never one
    Python frame per element, so nesting depth cannot overflow anything."""

    def __init__(self, job: ExtractionJob) -> None:
        super().__init__(convert_charrefs=True)
        self.job = job
        self.out = _Blocks(job)
        self.title = ""
        self.first_heading = ""
        self.skip = 0
        self.in_title = False
        self.pre = 0
        self.heading = 0
        self.list_depth = 0
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    # Parser callbacks.

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
            return
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self._data("\n")
        elif tag in _HEADINGS:
            self._end_paragraph()
            self.heading = _HEADINGS[tag]
        elif tag == "pre":
            self._end_paragraph()
            self.pre += 1
        elif tag == "li":
            self._end_paragraph()
            self.list_depth = max(self.list_depth, 1)
        elif tag in ("ul", "ol"):
            self._end_paragraph()
            self.list_depth += 1
        elif tag == "table":
            self._end_paragraph()
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            if not self.tables[-1]:
                self.tables[-1].append([])
            self.cell = []
        elif tag in _BLOCK:
            self._end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
            return
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in _HEADINGS and self.heading:
            text = " ".join("".join(self.text).split())
            self.text = []
            if text:
                self.out.heading(self.heading, text)
                self.first_heading = self.first_heading or text
            self.heading = 0
        elif tag == "pre" and self.pre:
            self.pre -= 1
            code = "".join(self.text).strip("\n")
            self.text = []
            self.out.flush()
            if code.strip():
                self.out.add_line(code, "code", limit=10**9)
                self.out.flush()
        elif tag == "li":
            self._end_paragraph()
        elif tag in ("ul", "ol"):
            self._end_paragraph()
            self.list_depth = max(0, self.list_depth - 1)
            if not self.list_depth:
                self.out.flush()
        elif tag in ("td", "th") and self.cell is not None and self.tables:
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table" and self.tables:
            rows = self.tables.pop()
            self.out.flush()
            table_blocks(self.job, rows, None, self.out.path)
        elif tag in _BLOCK:
            self._end_paragraph()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skip:
            self._data(data)

    # Helpers.

    def _data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        else:
            self.text.append(data)

    def _end_paragraph(self) -> None:
        if self.heading or self.pre:
            return  # a block tag inside a heading or <pre> does not end it
        raw = clean_text("".join(self.text))
        self.text = []
        lines = [" ".join(part.split()) for part in raw.split("\n")]
        text = "\n".join(line for line in lines if line)
        if not text:
            return
        if self.list_depth:
            self.out.add_line("  " * (self.list_depth - 1) + "- " + text, "list")
        else:
            self.out.flush()
            self.out.add_line(text, "paragraph")
            self.out.flush()

    def finish(self) -> None:
        self.close()
        self.heading = 0
        self.pre = 0
        self._end_paragraph()
        while self.tables:
            table_blocks(self.job, self.tables.pop(), None, self.out.path)
        self.out.flush()


def read_html(job: ExtractionJob, stream: IO[bytes]) -> tuple[str, int | None]:
    """Visible text of an HTML page: headings h1-h6, paragraphs, lists, tables, <pre> code;
    scripts, styles and navigation skipped. The charset comes from a BOM or the <meta> tag."""
    encoding = detect_encoding(job, stream, html=True)
    text = _text_stream(stream, encoding)
    parser = _HtmlBlocks(job)
    reach = _TagReach()
    try:
        while not job.full:
            job.check_cancel()
            chunk = text.read(_SAMPLE)
            parser.feed(reach.feed(chunk, final=not chunk))
            if not chunk:
                break
        parser.finish()
    finally:
        text.detach()
    _warn_replaced(job, encoding)
    title = " ".join(clean_text(parser.title).split()) or parser.first_heading
    return title, None
