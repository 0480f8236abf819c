"""Chunking: sizes in the embedder's tokens, structure first, overlap, page ranges."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.documents.chunking import (
    DEFAULT_MAX_TOKENS,
    Chunk,
    chunk_document,
    chunk_token_limit,
    split_sentences,
)
from app.core.documents.embedder import approximate_tokens
from app.core.documents.extract import extract
from app.core.documents.model import Block, BlockKind, ExtractedDocument
from tests.embedders import minilm

DOCUMENTS = Path(__file__).parents[1] / "fixtures" / "documents"


def document(*blocks: Block, kind: str = "pdf") -> ExtractedDocument:
    return ExtractedDocument(path=Path("doc.pdf"), kind=kind, title="doc",  # type: ignore[arg-type]
                             sha256="0" * 64, blocks=blocks)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_covers(doc: ExtractedDocument, chunks: list[Chunk]) -> None:
    """Every character of the document is in a chunk, and each chunk holds, in order, the lines
    its offsets point at (parts of a cut table also repeat the table's header)."""
    text = doc.text
    covered = bytearray(len(text))
    for chunk in chunks:
        covered[chunk.char_start:chunk.char_end] = b"\1" * (chunk.char_end - chunk.char_start)
        body, pos = squeeze(chunk.text), 0
        for line in text[chunk.char_start:chunk.char_end].split("\n"):
            found = body.find(squeeze(line), pos)
            assert found >= 0, (line, chunk.text)
            pos = found + len(squeeze(line))
    lost = [i for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
    assert not lost, f"text lost at {lost[:5]}: {text[lost[0]:lost[0] + 30]!r}"


# --- Sizes ------------------------------------------------------------------------------------

_EN_WORDS = ("reactor", "coolant", "pump", "the", "was", "replaced", "in", "March", "budget",
             "million", "euros", "3.2", "Dr.", "inspection", "valve", "assembly", "tolerance",
             "electroencephalography", "Natarajan", "VPN", "2024", "e.g.", "(see", "below)")
_JA_WORDS = ("東京", "支社", "の", "パスワード", "再設定", "は", "毎月", "第2金曜日", "に",
             "行います", "人口", "設定", "ヘルプデスク", "内線", "4321", "です", "経費", "精算",
             "\uff36\uff30\uff2e")  # full-width VPN
# Sentence ends, with the full-width ! and ? of Japanese text.
_ENDS = (". ", "! ", "? ", "。", "\uff01", "\uff1f", "\n", ", ", "、", " ", "")


@st.composite
def texts(draw: st.DrawFn) -> str:
    """English, Japanese or mixed text: sentences of varied length, some with no end at all
    (a run the chunker must cut blindly)."""
    words = draw(st.lists(st.sampled_from(_EN_WORDS + _JA_WORDS), min_size=1, max_size=400))
    out = []
    for word in words:
        out.append(word)
        out.append(draw(st.sampled_from(_ENDS)) if draw(st.booleans()) else " ")
    return "".join(out)


@st.composite
def documents(draw: st.DrawFn) -> ExtractedDocument:
    blocks = []
    heading: tuple[str, ...] = ()
    for _ in range(draw(st.integers(1, 8))):
        kind: BlockKind = draw(st.sampled_from(
            ["paragraph", "paragraph", "heading", "table", "list", "code"]))
        page = draw(st.integers(1, 3))
        if kind == "heading":
            title = draw(st.sampled_from(["概要", "Budget", "2. パスワード", "Safety"]))
            blocks.append(Block(title, page, heading, "heading"))
            heading = (*heading[:1], title)
        elif kind == "table":
            rows = draw(st.lists(texts(), min_size=1, max_size=30))
            body = "\n".join(f"| {i} | {r.replace(chr(10), ' ')} |" for i, r in enumerate(rows))
            blocks.append(Block("| n | text |\n|---|---|\n" + body, page, heading, "table"))
        else:
            blocks.append(Block(draw(texts()), page, heading, kind))
    return document(*blocks)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), max_tokens=st.sampled_from([16, 40, 128, 254]),
       overlap=st.sampled_from([0, 8, 32]))
def test_chunks_never_exceed_the_token_budget_and_lose_nothing(
        doc: ExtractedDocument, max_tokens: int, overlap: int) -> None:
    count = minilm().count_tokens
    chunks = chunk_document(doc, count, max_tokens=max_tokens, overlap_tokens=overlap)
    for chunk in chunks:
        assert chunk.token_count == count(chunk.text) <= max_tokens
        assert chunk.text.strip() == chunk.text != ""
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert_covers(doc, chunks)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_chunks_cut_without_a_model_fit_the_models_window(doc: ExtractedDocument) -> None:
    # Lexical-only indexing chunks with the approximate count; a model added later must be
    # able to read each chunk whole.
    real = minilm()
    for chunk in chunk_document(doc, approximate_tokens, max_tokens=real.max_tokens):
        assert real.count_tokens(chunk.text) <= real.max_tokens


def test_chunk_size_follows_the_embedder() -> None:
    assert chunk_token_limit(None) == DEFAULT_MAX_TOKENS
    assert chunk_token_limit(507) == DEFAULT_MAX_TOKENS
    assert chunk_token_limit(126) == 126


# --- Structure --------------------------------------------------------------------------------

def test_japanese_sentences_end_at_kuten_and_full_width_marks() -> None:
    question, exclamation = "\uff1f", "\uff01"  # full-width ? and !
    text = f"東京支社のパスワード再設定は毎月行います。本当ですか{question}はい{exclamation}次の文"
    assert split_sentences(text) == ["東京支社のパスワード再設定は毎月行います。",
                                     f"本当ですか{question}", f"はい{exclamation}", "次の文"]
    assert split_sentences("The budget is 3.2 million. Really? Yes! ok") == [
        "The budget is 3.2 million. ", "Really? ", "Yes! ", "ok"]


def test_a_long_japanese_paragraph_is_cut_at_sentence_ends() -> None:
    sentences = [f"第{i}条の規定により経費の精算は翌月末までに申請してください。"
                 for i in range(40)]
    doc = document(Block("".join(sentences), 1, ("経費",)))
    count = minilm().count_tokens
    chunks = chunk_document(doc, count, max_tokens=80, overlap_tokens=0)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.endswith("。")
        assert chunk.text.startswith("第")
    assert "".join(c.text for c in chunks) == "".join(sentences)


def test_headings_start_chunks_and_are_recorded() -> None:
    doc = extract(DOCUMENTS / "aurora_report.pdf")
    chunks = chunk_document(doc, minilm().count_tokens)
    by_heading = {c.heading_path: c for c in chunks}
    coolant = by_heading[("3. Coolant System",)]
    assert coolant.text.startswith("3. Coolant System")
    assert "coolant pump was replaced on 12 March 2024" in coolant.text
    assert (coolant.page_start, coolant.page_end) == (3, 3)
    assert by_heading[("4. Budget",)].page_start == 4
    # The title heading, followed directly by "1. Overview", travels with that section.
    first = chunks[0]
    assert first.text.startswith(
        "Aurora Research Reactor: Annual Maintenance Report\n\n1. Overview")
    assert first.heading_path == ("1. Overview",)
    # No chunk mixes two sections.
    for chunk in chunks:
        assert sum(h in chunk.text for h in ("1. Overview", "2. Staff", "3. Coolant",
                                             "4. Budget")) <= 1


def test_nested_headings_from_a_word_document() -> None:
    doc = extract(DOCUMENTS / "project_handbook.docx")
    chunks = chunk_document(doc, minilm().count_tokens)
    paths = [c.heading_path for c in chunks]
    assert ("Project Handbook", "Getting started", "Accounts") in paths
    accounts = chunks[paths.index(("Project Handbook", "Getting started", "Accounts"))]
    assert "Priya Natarajan" in accounts.text
    assert (accounts.page_start, accounts.page_end) == (None, None)


def test_a_chunk_may_span_pages_and_records_both() -> None:
    doc = document(Block("Intro", 1, (), "heading"),
                   Block("The first short paragraph ends page one.", 1, ("Intro",)),
                   Block("Page two goes on with the same section.", 2, ("Intro",)),
                   Block("Still on page two.", 2, ("Intro",)))
    (chunk,) = chunk_document(doc, minilm().count_tokens)
    assert (chunk.page_start, chunk.page_end) == (1, 2)
    assert chunk.heading_path == ("Intro",)


def test_a_half_full_chunk_ends_at_a_page_break() -> None:
    sentence = "Routine inspections followed the agreed schedule without any findings. "
    doc = document(Block(sentence * 5, 1), Block(sentence * 2, 2), Block(sentence * 2, 3))
    count = minilm().count_tokens
    assert 40 < count(sentence * 5) <= 80
    chunks = chunk_document(doc, count, max_tokens=80, overlap_tokens=0)
    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 1), (2, 3)]


def test_consecutive_chunks_of_a_section_overlap_by_whole_sentences() -> None:
    sentences = [f"Sentence {i} reports that valve {i} passed its pressure test. "
                 for i in range(30)]
    doc = document(Block("Valves", 1, (), "heading"), Block("".join(sentences), 1, ("Valves",)),
                   Block("Pumps", 2, (), "heading"),
                   Block("The pump section has its own text.", 2, ("Pumps",)))
    count = minilm().count_tokens
    chunks = chunk_document(doc, count, max_tokens=64, overlap_tokens=16)
    valves = [c for c in chunks if c.heading_path == ("Valves",)]
    assert len(valves) > 3
    for before, after in itertools.pairwise(valves):
        last = split_sentences(before.text)[-1].strip()
        assert after.text.startswith(last), (before.text, after.text)
        assert count(last) <= 16
        assert after.char_start < before.char_end  # the offsets show the overlap too
    pumps = chunks[-1]
    # No overlap across a heading.
    assert pumps.text == "Pumps\n\nThe pump section has its own text."


def test_no_overlap_when_asked_for_none() -> None:
    text = "".join(f"Item {i} is stored in bay {i}. " for i in range(60))
    chunks = chunk_document(document(Block(text, 1)), minilm().count_tokens, max_tokens=50,
                            overlap_tokens=0)
    assert "".join(c.text.replace(" ", "") for c in chunks) == text.replace(" ", "")


def test_tables_stay_whole_when_they_fit_and_repeat_their_header_when_cut() -> None:
    small = "| Part | Qty |\n|---|---|\n| Valve | 48 |\n| Pump | 3 |"
    rows = "\n".join(f"| Part {i} | {i * 7} | Warehouse {i % 4} |" for i in range(80))
    big = "| Part | Qty | Where |\n|---|---|---|\n" + rows
    doc = document(Block("Parts", 1, (), "heading"), Block(small, 1, ("Parts",), "table"),
                   Block("Stock", 2, (), "heading"), Block(big, 2, ("Stock",), "table"))
    count = minilm().count_tokens
    chunks = chunk_document(doc, count, max_tokens=120)
    assert chunks[0].text == "Parts\n\n" + small
    parts = chunks[1:]
    assert len(parts) > 3
    for part in parts:
        body = part.text.removeprefix("Stock\n\n")
        assert body.startswith("| Part | Qty | Where |\n|---|---|---|\n| Part ")
        assert part.token_count <= 120
    listed = [line for p in parts for line in p.text.split("\n")
              if re.match(r"\| Part \d", line)]
    assert listed == rows.split("\n")  # every row once, in order
    assert_covers(doc, chunks)


def test_a_run_without_any_break_is_cut_blindly_within_budget() -> None:
    doc = document(Block("東京都" * 1500, 1), Block("x" * 5000, 1))
    count = minilm().count_tokens
    chunks = chunk_document(doc, count, max_tokens=100)
    assert all(c.token_count <= 100 for c in chunks)
    assert sum(len(c.text) for c in chunks) == 4500 + 5000
    assert_covers(doc, chunks)


def test_every_committed_document_chunks_within_budget() -> None:
    count = minilm().count_tokens
    for path in sorted(DOCUMENTS.iterdir()):
        if path.name.startswith(".") or path.suffix not in (
                ".pdf", ".docx", ".pptx", ".xlsx", ".csv", ".txt", ".md", ".html", ".py"):
            continue
        try:
            doc = extract(path)
        except Exception:  # the deliberately unreadable ones (encrypted, scanned)
            continue
        chunks = chunk_document(doc, count, max_tokens=48, overlap_tokens=8)
        assert chunks, path.name
        assert all(c.token_count <= 48 for c in chunks), path.name
        assert_covers(doc, chunks)
