"""What the model reads about the attached documents, and how its [n] citations link back.

Peers' users mostly complain that "summarise / list / compare" questions fail because only a few
snippets reach the model, and that the model does not know a file exists when retrieval finds
nothing. So: when the attached documents fit the budget the model gets their whole text; only
otherwise are passages retrieved, widened with their neighbours and packed to the budget, counted
with the chat model's own tokenizer. Either way the model is told which files are attached, and
when nothing matched it is told so rather than left to guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

ContextMode = Literal["whole", "retrieved", "nothing_found"]

CITATION_RE = re.compile(r"\[(\d{1,3})(?:\s*[,:]\s*(?:p\.|pp\.|page|pages)?\s*(\d{1,5}))?\]")
"""[3] or [3, p. 12]: what the model is asked to write."""

INSTRUCTIONS = (
    "The user attached documents; excerpts follow, each numbered [n] with its file and page. "
    "Answer from them. After each fact you take from them, cite its source as [n] (or [n, p. X] "
    "for a page of a whole document). If the documents do not contain the answer, say so; do not "
    "make one up.")
MAX_CHARS_PER_TOKEN = 12
"""Above this many characters per token of budget, whole documents are not even counted."""
MIN_EXCERPT_TOKENS = 48
"""A hit is cut to fit what is left of the budget, unless less than this is left."""
NOTHING_FOUND = ("The user attached documents ({names}), but no passage in them matched this "
                 "question. Say that the documents do not seem to cover it, then answer only "
                 "if you are sure, saying it is not from the documents.")


@dataclass(frozen=True)
class Passage:
    """A chunk of a document, as retrieval returns it."""

    document_id: int
    name: str
    path: str
    ordinal: int
    text: str
    page_start: int | None
    page_end: int | None
    heading: str = ""


@dataclass(frozen=True)
class AttachedDocument:
    """A document attached to the conversation, with its chunks in reading order."""

    document_id: int
    name: str
    path: str
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Source:
    """What a citation number points to: a file and its pages."""

    n: int
    document_id: int
    name: str
    path: str
    page_start: int | None
    page_end: int | None
    heading: str = ""

    @property
    def label(self) -> str:
        """'report.pdf, p. 3', 'report.pdf, pp. 3-4' or just the name."""
        if self.page_start is None:
            return self.name
        if self.page_end is None or self.page_end == self.page_start:
            return f"{self.name}, p. {self.page_start}"
        return f"{self.name}, pp. {self.page_start}-{self.page_end}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (stored with the message)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        """The inverse of `as_dict`; unknown keys are ignored."""
        return cls(n=int(data["n"]), document_id=int(data.get("document_id", 0)),
                   name=str(data.get("name", "")), path=str(data.get("path", "")),
                   page_start=data.get("page_start"), page_end=data.get("page_end"),
                   heading=str(data.get("heading", "")))


@dataclass(frozen=True)
class DocumentContext:
    """The text to put before the user's question, and the sources it numbers."""

    text: str
    sources: tuple[Source, ...]
    mode: ContextMode
    tokens: int


def build_context(question: str, documents: Sequence[AttachedDocument], *,
                  search: Callable[[str, int], Sequence[Passage]],
                  neighbours: Callable[[Passage], Sequence[Passage]],
                  count_tokens: Callable[[str], int], budget_tokens: int,
                  k: int = 12, allow_whole: bool = True) -> DocumentContext | None:
    """The excerpts for `question` from `documents`, in at most `budget_tokens`.

    Whole documents when they all fit (and `allow_whole`: the caller may know they cannot and
    pass them without their text); else the best `k` passages from `search`, each widened with
    its `neighbours` while the budget lasts. None when no document is attached.
    """
    if not documents:
        return None
    whole = _whole(documents, count_tokens, budget_tokens) if allow_whole else None
    if whole is not None:
        return whole
    hits = list(search(question, k))
    if not hits:
        names = ", ".join(d.name for d in documents)
        text = NOTHING_FOUND.format(names=names)
        return DocumentContext(text, (), "nothing_found", count_tokens(text))
    return _retrieved(hits, neighbours, count_tokens, budget_tokens)


def could_fit_whole(chars: int, budget_tokens: int) -> bool:
    """Whether documents of `chars` characters might fit `budget_tokens` whole. No tokenizer
    packs more than a dozen characters into a token on average: far bigger documents cannot
    fit, and tokenising (or even loading) megabytes on every question would stall the reply."""
    return chars <= budget_tokens * MAX_CHARS_PER_TOKEN


def _whole(documents: Sequence[AttachedDocument], count_tokens: Callable[[str], int],
           budget: int) -> DocumentContext | None:
    if not could_fit_whole(sum(len(p.text) for d in documents for p in d.passages), budget):
        return None
    parts = [INSTRUCTIONS]
    sources = []
    for n, doc in enumerate(documents, start=1):
        pages = [p.page_start for p in doc.passages if p.page_start is not None]
        sources.append(Source(n, doc.document_id, doc.name, doc.path,
                              min(pages, default=None), max(pages, default=None)))
        parts.append(f"[{n}] {doc.name}\n{_whole_text(doc.passages)}")
    text = "\n\n".join(parts)
    tokens = count_tokens(text)
    if tokens > budget:
        return None
    return DocumentContext(text, tuple(sources), "whole", tokens)


def _whole_text(passages: Sequence[Passage]) -> str:
    """A document's chunks joined, with a page marker where the page changes. Overlapping
    chunks repeat a little text; that costs a few tokens and never loses any."""
    out: list[str] = []
    page: int | None = None
    for passage in passages:
        if passage.page_start is not None and passage.page_start != page:
            page = passage.page_start
            out.append(f"(page {page})")
        out.append(passage.text)
    return "\n".join(out)


def _retrieved(hits: Sequence[Passage], neighbours: Callable[[Passage], Sequence[Passage]],
               count_tokens: Callable[[str], int], budget: int) -> DocumentContext:
    used = count_tokens(INSTRUCTIONS)
    chosen: list[Passage] = []
    seen: set[tuple[int, int]] = set()
    # First the hits themselves in rank order, then their neighbours, so widening never pushes
    # out a better hit.
    for passage in hits:
        key = (passage.document_id, passage.ordinal)
        if key in seen:
            continue
        label = _label_tokens(passage, count_tokens)
        cost = count_tokens(passage.text) + label
        if used + cost > budget:
            # A chunk bigger than what is left (a small model's context, or a tokenizer that
            # counts more than the embedder's): its start is better than nothing.
            room = budget - used - label
            if room < MIN_EXCERPT_TOKENS:
                continue
            passage = replace(passage, text=_trim(passage.text, count_tokens, room))
            cost = count_tokens(passage.text) + label
        chosen.append(passage)
        seen.add(key)
        used += cost
    for passage in list(chosen):
        for near in neighbours(passage):
            key = (near.document_id, near.ordinal)
            cost = count_tokens(near.text) + 2
            if key in seen or used + cost > budget:
                continue
            chosen.append(near)
            seen.add(key)
            used += cost
    # Group into runs of adjacent chunks of one document: one source each, read in order.
    chosen.sort(key=lambda p: (p.document_id, p.ordinal))
    runs: list[list[Passage]] = []
    for passage in chosen:
        if runs and runs[-1][-1].document_id == passage.document_id \
                and runs[-1][-1].ordinal + 1 >= passage.ordinal:
            runs[-1].append(passage)
        else:
            runs.append([passage])
    rank = {(p.document_id, p.ordinal): i for i, p in enumerate(hits)}
    runs.sort(key=lambda run: min(rank.get((p.document_id, p.ordinal), len(rank)) for p in run))
    parts = [INSTRUCTIONS]
    sources = []
    for n, run in enumerate(runs, start=1):
        starts = [p.page_start for p in run if p.page_start is not None]
        ends = [p.page_end or p.page_start for p in run if p.page_start is not None]
        source = Source(n, run[0].document_id, run[0].name, run[0].path,
                        min(starts, default=None), max((e for e in ends if e), default=None),
                        run[0].heading)
        sources.append(source)
        parts.append(f"[{n}] {source.label}\n" + "\n".join(p.text for p in run))
    text = "\n\n".join(parts)
    return DocumentContext(text, tuple(sources), "retrieved", count_tokens(text))


def _label_tokens(passage: Passage, count_tokens: Callable[[str], int]) -> int:
    """What an excerpt's "[n] name, pp. X-Y" line and separators cost, at the most."""
    page = passage.page_end or passage.page_start or 0
    return count_tokens(f"\n\n[99] {passage.name}, pp. {page}-{page}\n") + 1


def _trim(text: str, count_tokens: Callable[[str], int], limit: int) -> str:
    """The longest start of `text` (cut at a space where there is one) within `limit` tokens."""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if count_tokens(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    cut = text[:low]
    space = cut.rfind(" ")
    return (cut[:space] if space > low * 0.8 else cut).rstrip() + " ..."


def link_citations(markdown: str, sources: Sequence[Source],
                   scheme: str = "hearth-source") -> str:
    """Turn [n] and [n, p. X] into Markdown links `scheme:n` / `scheme:n/X` for known sources;
    numbers the model made up are left as plain text."""
    known = {s.n for s in sources}

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        page = match.group(2)
        target = f"{scheme}:{n}/{page}" if page else f"{scheme}:{n}"
        return f"[{match.group(0)[1:-1]}]({target})"

    return CITATION_RE.sub(link, markdown)


def cited(text: str, sources: Sequence[Source]) -> list[Source]:
    """The sources an answer actually cites, in order of first citation."""
    by_n = {s.n: s for s in sources}
    out: list[Source] = []
    for match in CITATION_RE.finditer(text):
        source = by_n.get(int(match.group(1)))
        if source is not None and source not in out:
            out.append(source)
    return out
