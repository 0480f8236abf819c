"""Building the document context the model reads, and linking its citations back."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from app.core.documents.answer import (
    INSTRUCTIONS,
    AttachedDocument,
    Passage,
    Source,
    build_context,
    cited,
    link_citations,
)
from app.core.engine import LoadedModel

FACTS = [
    "The coolant pump was replaced on 12 March 2024.",
    "Inspections happen every second Friday.",
    "東京支社のパスワード再設定は毎月第2金曜日に行います。",
]


def _doc(doc_id: int, name: str, pages: int, filler: int = 30) -> AttachedDocument:
    passages = tuple(
        Passage(doc_id, name, f"/docs/{name}", i, f"{FACTS[i % 3]} " + "More text here. " * filler,
                i + 1, i + 1, "Chapter 1")
        for i in range(pages))
    return AttachedDocument(doc_id, name, f"/docs/{name}", passages)


@pytest.fixture
def count_tokens(llama: LoadedModel) -> Callable[[str], int]:
    # The chat model's own tokenizer (the real tiny-llama one).
    return lambda text: len(llama.tokenizer.encode(text))


def _no_search(_q: str, _k: int) -> Sequence[Passage]:
    raise AssertionError("whole documents fit: nothing should be retrieved")


def test_documents_that_fit_are_given_whole(count_tokens: Callable[[str], int]) -> None:
    docs = [_doc(1, "report.pdf", 3), _doc(2, "notes.md", 2)]
    ctx = build_context("Summarise the report", docs, search=_no_search,
                        neighbours=lambda p: [], count_tokens=count_tokens, budget_tokens=100_000)
    assert ctx is not None
    assert ctx.mode == "whole"
    assert [s.label for s in ctx.sources] == ["report.pdf, pp. 1-3", "notes.md, pp. 1-2"]
    assert "(page 3)" in ctx.text
    assert all(fact in ctx.text for fact in FACTS)
    assert ctx.tokens == count_tokens(ctx.text)


def test_too_big_documents_are_retrieved_widened_and_fit_the_budget(
        count_tokens: Callable[[str], int]) -> None:
    doc = _doc(1, "manual.pdf", 40)
    by_ordinal = {p.ordinal: p for p in doc.passages}
    searched: list[str] = []

    def search(question: str, k: int) -> Sequence[Passage]:
        searched.append(question)
        return [by_ordinal[10], by_ordinal[25]]

    def neighbours(p: Passage) -> Sequence[Passage]:
        return [by_ordinal[o] for o in (p.ordinal - 1, p.ordinal + 1) if o in by_ordinal]

    budget = count_tokens(INSTRUCTIONS) + 5 * count_tokens(by_ordinal[10].text)
    ctx = build_context("When was the pump replaced?", [doc], search=search,
                        neighbours=neighbours, count_tokens=count_tokens, budget_tokens=budget)
    assert ctx is not None
    assert searched == ["When was the pump replaced?"]
    assert ctx.mode == "retrieved"
    assert ctx.tokens <= budget
    # Both hits made it, ranked first, and at least one was widened into a run of pages.
    assert ctx.sources[0].page_start is not None
    assert ctx.sources[0].page_start <= 11 <= (ctx.sources[0].page_end or 0)
    assert any((s.page_end or 0) > (s.page_start or 0) for s in ctx.sources)
    assert any(s.page_start is not None and s.page_start <= 26 <= (s.page_end or 0)
               for s in ctx.sources)


def test_nothing_found_tells_the_model_which_files_exist(
        count_tokens: Callable[[str], int]) -> None:
    ctx = build_context("What is the capital of Peru?", [_doc(1, "manual.pdf", 40)],
                        search=lambda q, k: [], neighbours=lambda p: [],
                        count_tokens=count_tokens, budget_tokens=200)
    assert ctx is not None
    assert ctx.mode == "nothing_found"
    assert "manual.pdf" in ctx.text
    assert ctx.sources == ()


def test_no_documents_no_context(count_tokens: Callable[[str], int]) -> None:
    assert build_context("hi", [], search=_no_search, neighbours=lambda p: [],
                         count_tokens=count_tokens, budget_tokens=100) is None


def test_citations_become_links_and_made_up_numbers_do_not() -> None:
    sources = [Source(1, 7, "report.pdf", "/d/report.pdf", 3, 3),
               Source(2, 8, "東京.docx", "/d/東京.docx", None, None)]
    text = "Replaced in March [1]. Fridays [2, p. 4]. Unknown [9]."
    linked = link_citations(text, sources)
    assert "[1](hearth-source:1)" in linked
    assert "[2, p. 4](hearth-source:2/4)" in linked
    assert "[9]." in linked
    assert "(hearth-source:9" not in linked
    assert cited(text, sources) == sources
    assert Source.from_dict(sources[1].as_dict()) == sources[1]


def test_a_hit_bigger_than_the_budget_is_cut_to_fit(count_tokens: Callable[[str], int]) -> None:
    doc = _doc(1, "big.pdf", 3, filler=400)
    budget = count_tokens(INSTRUCTIONS) + 200
    ctx = build_context("pump", [doc], search=lambda q, k: [doc.passages[0]],
                        neighbours=lambda p: [], count_tokens=count_tokens,
                        budget_tokens=budget)
    assert ctx is not None
    assert ctx.mode == "retrieved"
    assert ctx.tokens <= budget
    assert FACTS[0] in ctx.text
    assert ctx.text.endswith(" ...")


def test_huge_documents_are_not_tokenised_whole(count_tokens: Callable[[str], int]) -> None:
    doc = _doc(1, "huge.pdf", 200, filler=200)  # about 640 000 characters
    longest: list[int] = []

    def counting(text: str) -> int:
        longest.append(len(text))
        return count_tokens(text)

    ctx = build_context("pump", [doc], search=lambda q, k: [doc.passages[0]],
                        neighbours=lambda p: [], count_tokens=counting, budget_tokens=2000)
    assert ctx is not None
    assert ctx.mode == "retrieved"
    assert max(longest) < 20_000  # only excerpts were counted, never the whole text
