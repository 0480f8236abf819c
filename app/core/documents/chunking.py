"""Cut an extracted document into chunks that the embedding model reads whole.

Sizes are counted in the embedding model's tokens, never in characters: 1000 characters are about
190 WordPiece tokens of English but 930 of Japanese (documents notes), so a character budget
either wastes the model's window on English or gets silently truncated on Japanese. Without an
embedding model, `approximate_tokens` stands in and errs high.

Structure comes first:
- a heading starts a new chunk (a heading directly followed by another one travels with it), and
  each chunk records the headings it sits under;
- a chunk may run over a page break (records page_start..page_end) but, once it is half full, a
  new page starts a new chunk, so citations stay precise;
- blocks are kept whole when they fit (a table too); a block too big for a chunk is cut at
  sentences (English . ! ? and Japanese 。 and full-width ! ?), then at line breaks, commas and
  spaces, and only a run with none of these at all is cut blindly; a big table is cut between
  rows, each part repeating the header;
- consecutive chunks of one section overlap by up to `overlap_tokens` of whole sentences, so a
  fact cut at a boundary still reads whole in one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from app.core.documents.embedder import approximate_tokens
from app.core.documents.model import Block, ExtractedDocument

DEFAULT_MAX_TOKENS = 256
"""Big enough for a paragraph or two with its context, small enough that one fact is not diluted
in its vector (and all-MiniLM, the smallest model, reads 256)."""
DEFAULT_OVERLAP_TOKENS = 32

TokenCounter = Callable[[str], int]

# Where a sentence ends: Latin punctuation needs whitespace after it (so "3.2" and "e.g.x" stay
# whole); Japanese and Chinese punctuation does not, since those languages use no spaces. Closing
# quotes and brackets stay with their sentence.
_CLOSERS = "\"')\\]\u201d\u2019\u300d\u300f\uff09"  # quotes, brackets, 」』 and full-width )
_SENTENCE_END = re.compile(
    f"[.!?]+[{_CLOSERS}]*\\s+|[\u3002\uff01\uff1f]+[{_CLOSERS}]*\\s*|\\n\\s*")
# Ever finer places to cut text with no sentence end in reach.
_FINER_CUTS = (
    re.compile(r"\n\s*"),
    re.compile("[,;:\u3001\uff0c\uff1b\uff1a]\\s*"),  # also 、 and full-width , ; :
    re.compile(r"\s+"),
)
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough to embed whole."""

    ordinal: int
    """Position in the document, from 0; neighbours are ordinal ± 1."""
    text: str
    page_start: int | None
    page_end: int | None
    heading_path: tuple[str, ...]
    """The headings the chunk's text sits under, outermost first."""
    token_count: int
    """Tokens as the counter used for chunking counts them."""
    char_start: int = 0
    char_end: int = 0
    """Where the chunk's text lies in `ExtractedDocument.text` (a table part's repeated header
    lies before char_start)."""


@dataclass
class _Piece:
    text: str
    tokens: int
    start: int
    """Offset of `text` in the document's text."""
    page: int | None
    block: int
    """Index of the block it comes from: pieces of one block join without a paragraph break."""
    heading_path: tuple[str, ...]
    joiner: str = ""
    """What goes before it when the previous piece is of the same block."""
    heading: bool = False
    prose: bool = True
    """Sentences of prose may be repeated as overlap; table rows and code lines are not."""
    stop: int = -1
    """Where the piece ends in the document's text, when that is not start + len(text) (a table
    part that repeats the header)."""

    @property
    def end(self) -> int:
        return self.stop if self.stop >= 0 else self.start + len(self.text)


@dataclass(frozen=True)
class _Where:
    """The block a piece comes from."""

    block: int
    page: int | None
    path: tuple[str, ...]


def chunk_token_limit(max_tokens: int | None) -> int:
    """The chunk size to use with an embedder that reads `max_tokens` (None: no embedder)."""
    return DEFAULT_MAX_TOKENS if max_tokens is None else min(DEFAULT_MAX_TOKENS, max_tokens)


def chunk_document(doc: ExtractedDocument, count_tokens: TokenCounter = approximate_tokens, *,
                   max_tokens: int = DEFAULT_MAX_TOKENS,
                   overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> list[Chunk]:
    """The chunks of `doc`, in reading order; each counts at most `max_tokens` by
    `count_tokens` (which should not count special tokens)."""
    if max_tokens < 8:
        raise ValueError(f"max_tokens must be at least 8, not {max_tokens}")
    overlap_tokens = max(0, min(overlap_tokens, max_tokens // 4))
    packer = _Packer(count_tokens, max_tokens, overlap_tokens)
    offset = 0
    for index, block in enumerate(doc.blocks):
        text = block.text.strip()
        if text:
            lead = len(block.text) - len(block.text.lstrip())
            packer.add_block(index, block, text, offset + lead)
        offset += len(block.text) + 2  # ExtractedDocument.text joins blocks with "\n\n"
    packer.flush(overlap=False)
    return packer.chunks


def split_sentences(text: str) -> list[str]:
    """`text` cut after each sentence end; the parts joined give `text` back."""
    return _cut(text, _SENTENCE_END)


def _cut(text: str, pattern: re.Pattern[str]) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        end = match.end()
        if end > start and end < len(text):
            parts.append(text[start:end])
            start = end
    if start < len(text):
        parts.append(text[start:])
    return parts


class _Packer:
    """Fills chunks with pieces; see the module docstring for the rules."""

    def __init__(self, count: TokenCounter, max_tokens: int, overlap: int) -> None:
        self.count = count
        self.max = max_tokens
        self.overlap = overlap
        self.chunks: list[Chunk] = []
        self.pieces: list[_Piece] = []
        self.used = 0
        self.fresh = 0
        """How many pieces are new in this chunk (the rest repeat the previous chunk's end)."""
        self.path: tuple[str, ...] | None = None

    # -- blocks ------------------------------------------------------------------------------------
    def add_block(self, index: int, block: Block, text: str, start: int) -> None:
        """Add a block's (stripped) `text`, found at `start` in the document's text."""
        if block.kind == "heading":
            path = (*block.heading_path, text)
            self._section_break()
            self.path = path
            for piece in self._pieces(text, start, _Where(index, block.page, path), 0):
                piece.heading = True
                piece.prose = False
                self._add(piece)
            return
        path = block.heading_path
        if self.path is not None and path != self.path:
            self._section_break()
        elif self._new_page(block.page) and self.used >= self.max // 2:
            self.flush(overlap=True)
        self.path = path
        where = _Where(index, block.page, path)
        if block.kind == "table":
            pieces = self._table(text, start, where)
        elif block.kind in ("code", "list"):
            pieces = self._lines(text, start, where)
        else:
            pieces = list(self._pieces(text, start, where, 0))
        for piece in pieces:
            self._add(piece)

    def _section_break(self) -> None:
        """A new section starts: close the chunk, unless it holds only headings so far (they
        belong with the section that follows them)."""
        if self._only_headings():
            # Keep the headings, but not the previous section's sentences before them.
            fresh = self.pieces[len(self.pieces) - self.fresh:]
            self.pieces, self.used = fresh, sum(p.tokens for p in fresh)
        else:
            self.flush(overlap=False)

    def _only_headings(self) -> bool:
        """Whether the chunk so far holds headings and nothing new besides."""
        fresh = self.pieces[len(self.pieces) - self.fresh:] if self.fresh else []
        return bool(fresh) and all(p.heading for p in fresh)

    def _new_page(self, page: int | None) -> bool:
        return bool(self.pieces) and page is not None and self.pieces[-1].page != page

    # -- cutting -----------------------------------------------------------------------------------
    def _pieces(self, text: str, start: int, where: _Where, level: int,
                joiner: str = "") -> Iterator[_Piece]:
        """`text` as one piece when it fits a chunk, else cut from `level` on (0: sentences)
        into pieces that do. The first piece gets `joiner`; the rest continue it."""
        for part, tokens in self._parts(text, level):
            yield _Piece(part, tokens, start, where.page, where.block, where.path, joiner)
            start += len(part)
            joiner = ""

    def _parts(self, text: str, level: int) -> Iterator[tuple[str, int]]:
        """`text` whole when it fits, else `_split` from `level` on; the parts join to
        `text`."""
        tokens = self.count(text)
        if tokens <= self.max:
            yield text, tokens
        else:
            yield from self._split(text, level)

    def _split(self, text: str, level: int) -> Iterator[tuple[str, int]]:
        """Cut `text` at sentence ends (level 0), then finer places, into parts that fit."""
        patterns = (_SENTENCE_END, *_FINER_CUTS)
        if level >= len(patterns):
            yield from self._hard_cut(text)
            return
        parts = _cut(text, patterns[level])
        if len(parts) == 1:
            yield from self._split(text, level + 1)
            return
        for part in parts:
            yield from self._parts(part, level + 1)

    def _hard_cut(self, text: str) -> Iterator[tuple[str, int]]:
        """Cut text with no break in it (a long run of symbols, Japanese without punctuation)
        by length, checking each part's count."""
        while text:
            tokens = self.count(text)
            if tokens <= self.max:
                yield text, tokens
                return
            # Start from the average density and shrink until the part fits.
            end = max(1, int(len(text) * self.max / tokens))
            part_tokens = self.count(text[:end])
            while part_tokens > self.max and end > 1:
                end = max(1, min(end - 1, int(end * self.max / part_tokens * 0.9)))
                part_tokens = self.count(text[:end])
            yield text[:end], part_tokens
            text = text[end:]

    def _lines(self, text: str, start: int, where: _Where) -> list[_Piece]:
        """Code or a list: whole when it fits, else line by line."""
        tokens = self.count(text)
        if tokens <= self.max:
            return [_Piece(text, tokens, start, where.page, where.block, where.path, prose=False)]
        pieces: list[_Piece] = []
        for line, line_start in _lines_of(text, start):
            for piece in self._pieces(line, line_start, where, 1, "\n"):
                piece.prose = False
                pieces.append(piece)
        return pieces

    def _table(self, text: str, start: int, where: _Where) -> list[_Piece]:
        """A table whole, or cut between rows with the header repeated in each part."""
        tokens = self.count(text)
        if tokens <= self.max:
            return [_Piece(text, tokens, start, where.page, where.block, where.path, prose=False)]
        lines = list(_lines_of(text, start))
        header_lines = 2 if len(lines) > 2 and _TABLE_RULE.match(lines[1][0].strip()) else 0
        header = "\n".join(line for line, _ in lines[:header_lines])
        header_tokens = self.count(header) if header else 0
        if header_tokens > self.max // 2:
            header, header_tokens = "", 0  # a header that big would crowd out the rows
            header_lines = 0
        full = self.max - header_tokens
        # The first part may fill what is left of the current chunk (after its heading, say).
        budget = self.max - self.used - header_tokens
        pieces: list[_Piece] = []
        rows: list[tuple[str, int]] = []
        used = 0

        def close() -> None:
            nonlocal budget, used
            if rows:
                body = "\n".join(([header] if header else []) + [row for row, _ in rows])
                # The first part starts where the table does; later ones repeat its header.
                first = start if not pieces and header else rows[0][1]
                last, last_start = rows[-1]
                pieces.append(_Piece(body, header_tokens + used, first, where.page, where.block,
                                     where.path, "\n", prose=False, stop=last_start + len(last)))
                rows.clear()
            budget, used = full, 0

        for line, line_start in lines[header_lines:]:
            row_tokens = self.count(line)
            if row_tokens > full:
                close()
                if not pieces and header:
                    pieces.append(_Piece(header, header_tokens, start, where.page, where.block,
                                         where.path, "\n", prose=False))
                for piece in self._pieces(line, line_start, where, 1, "\n"):
                    piece.prose = False
                    pieces.append(piece)
                continue
            if used + row_tokens > budget:
                close()
            rows.append((line, line_start))
            used += row_tokens
        close()
        return pieces

    # -- packing -----------------------------------------------------------------------------------
    def _add(self, piece: _Piece) -> None:
        if self.used + piece.tokens > self.max and piece.prose and self._only_headings():
            # Rather than leave a heading alone in a chunk, start its text in it.
            parts = _cut(piece.text, _SENTENCE_END)
            if len(parts) > 1:
                start, joiner = piece.start, piece.joiner
                for part in parts:
                    self._add(_Piece(part, self.count(part), start, piece.page, piece.block,
                                     piece.heading_path, joiner))
                    start, joiner = start + len(part), ""
                return
        if self.used + piece.tokens > self.max:
            if self.fresh:
                self.flush(overlap=True)
            if self.used + piece.tokens > self.max:
                # The overlap and the piece do not fit together: the piece matters more.
                self.pieces, self.used = [], 0
        self.pieces.append(piece)
        self.used += piece.tokens
        self.fresh += 1

    def flush(self, *, overlap: bool) -> None:
        """Close the current chunk; with `overlap`, the next one starts with its last
        sentences."""
        if not self.fresh:
            self.pieces, self.used = [], 0
            return
        self._emit(self.pieces)
        tail = self._tail() if overlap and self.overlap else []
        self.pieces, self.used, self.fresh = tail, sum(p.tokens for p in tail), 0

    def _tail(self) -> list[_Piece]:
        """The last whole sentences of the chunk just closed, at most `overlap` tokens."""
        tail: list[_Piece] = []
        budget = self.overlap
        for piece in reversed(self.pieces):
            if not piece.prose:
                break
            if piece.tokens <= budget:
                tail.insert(0, piece)
                budget -= piece.tokens
                continue
            end = piece.end
            for sentence in reversed(split_sentences(piece.text)):
                tokens = self.count(sentence)
                if tokens > budget:
                    break
                end -= len(sentence)
                tail.insert(0, _Piece(sentence, tokens, end, piece.page, piece.block,
                                      piece.heading_path))
                budget -= tokens
            break
        return tail

    def _emit(self, pieces: Sequence[_Piece]) -> None:
        joined = _join(pieces)
        text = joined.strip()
        tokens = self.count(text)
        if tokens > self.max and len(pieces) > 1:
            # Counts are not quite additive (a tokenizer may merge across a join): halve.
            middle = len(pieces) // 2
            self._emit(pieces[:middle])
            self._emit(pieces[middle:])
            return
        if tokens > self.max:
            piece = pieces[0]
            start = piece.start
            for part, part_tokens in self._hard_cut(piece.text):
                self.chunks.append(self._chunk(
                    [_Piece(part, part_tokens, start, piece.page, piece.block,
                            piece.heading_path)], part.strip(), part_tokens, part))
                start += len(part)
            return
        self.chunks.append(self._chunk(pieces, text, tokens, joined))

    def _chunk(self, pieces: Sequence[_Piece], text: str, tokens: int, joined: str) -> Chunk:
        pages = [p.page for p in pieces if p.page is not None]
        content = next((p for p in pieces if not p.heading), pieces[-1])
        lead = len(joined) - len(joined.lstrip())
        trail = len(joined) - len(joined.rstrip())
        return Chunk(
            ordinal=len(self.chunks), text=text,
            page_start=min(pages) if pages else None, page_end=max(pages) if pages else None,
            heading_path=content.heading_path, token_count=tokens,
            char_start=pieces[0].start + lead, char_end=max(p.end for p in pieces) - trail)


def _lines_of(text: str, start: int) -> Iterator[tuple[str, int]]:
    """The non-blank lines of `text` with their offsets (`text` being at `start`)."""
    for line in text.split("\n"):
        if line.strip():
            yield line, start
        start += len(line) + 1


def _join(pieces: Sequence[_Piece]) -> str:
    out: list[str] = []
    previous: _Piece | None = None
    for piece in pieces:
        if previous is not None:
            out.append(piece.joiner if piece.block == previous.block else "\n\n")
        out.append(piece.text)
        previous = piece
    return "".join(out)
