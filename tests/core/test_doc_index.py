"""The document index on real SQLite files, real extracted documents and the real embedder."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.core.chat import CancelToken
from app.core.documents.answer import build_context
from app.core.documents.embedder import OnnxEmbedder
from app.core.documents.extract import extract
from app.core.documents.index import (
    INDEX_FILE,
    MIGRATIONS,
    RRF_K,
    SCHEMA_VERSION,
    DocumentIndex,
    IndexingCancelled,
    match_expression,
)
from app.core.documents.model import Block, ExtractedDocument
from app.core.errors import DocumentError, StorageError
from app.core.paths import AppPaths
from tests.embedders import CountingEmbedder, minilm, minilm_folder

DOCUMENTS = Path(__file__).parents[1] / "fixtures" / "documents"


@pytest.fixture
def index(app_paths: AppPaths) -> Iterator[DocumentIndex]:
    with DocumentIndex.for_paths(app_paths) as opened:
        yield opened


def counting() -> CountingEmbedder:
    return CountingEmbedder(minilm())


def text_document(tmp_path: Path, name: str, *blocks: Block) -> ExtractedDocument:
    """A document built from blocks, backed by a real file (its hash is the blocks' text)."""
    path = tmp_path / name
    text = "\n\n".join(b.text for b in blocks)
    path.write_text(text, encoding="utf-8")
    return ExtractedDocument(path=path, kind="text", title=path.stem,
                             sha256=hashlib.sha256(text.encode()).hexdigest(), blocks=blocks)


def japanese(tmp_path: Path) -> ExtractedDocument:
    return text_document(
        tmp_path, "東京.txt",
        Block("概要", 1, (), "heading"),
        Block("東京の人口は約1400万人で、日本で最も多い。", 1, ("概要",)),
        Block("パスワード", 2, (), "heading"),
        Block("パスワードの設定は情報システム部が受け付けます。", 2, ("パスワード",)),
        Block("観光", 3, (), "heading"),
        Block("京都には毎年多くの観光客が訪れます。", 3, ("観光",)))


def table_count(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(sql).fetchone()[0])


# --- Finding by keyword -----------------------------------------------------------------------

@pytest.mark.parametrize(("word", "heading"), [
    ("東京", "概要"), ("人口", "概要"), ("パスワード", "パスワード"), ("設定", "パスワード"),
    ("京都", "観光"), ("観光客", "観光")])
def test_japanese_two_character_words_are_found(index: DocumentIndex, tmp_path: Path,
                                                word: str, heading: str) -> None:
    index.add(japanese(tmp_path))
    hits = index.search(word)
    assert hits, word
    assert hits[0].chunk.heading_path == (heading,)
    assert hits[0].lexical_rank == 1
    assert hits[0].dense_rank is None  # no embedder: lexical only
    # Only chunks that contain the word (as bigrams) match: 京都 is not in 東京's chunk.
    assert all(word in h.chunk.text for h in hits)


def test_japanese_questions_find_their_passage(index: DocumentIndex, tmp_path: Path) -> None:
    index.add(japanese(tmp_path))
    (hit, *_) = index.search("東京の人口は何人ですか")
    assert "1400万人" in hit.chunk.text
    assert index.search("大阪") == []


def test_english_keywords_and_word_forms(index: DocumentIndex) -> None:
    index.add(extract(DOCUMENTS / "aurora_report.pdf"))
    (hit, *_) = index.search("coolant pump")
    assert "replaced on 12 March 2024" in hit.chunk.text
    assert (hit.chunk.page_start, hit.document.name) == (3, "aurora_report.pdf")
    # Stemming: "replacements" finds "replaced"/"replacement"; the heading counts too.
    assert any(h.chunk.page_start == 3 for h in index.search("replacements"))
    assert index.search("budget")[0].chunk.heading_path == ("4. Budget",)
    assert index.search("zeppelin") == []


def test_stored_chunks_keep_where_their_text_came_from(index: DocumentIndex) -> None:
    doc = extract(DOCUMENTS / "it_guide_ja.pdf")
    record = index.add(doc)
    chunks = index.chunks(record.id)
    assert [c.ordinal for c in chunks] == list(range(record.chunk_count))
    for chunk in chunks:
        assert doc.text[chunk.char_start:chunk.char_end] in chunk.text
        assert chunk.heading_path
        assert chunk.heading == " > ".join(chunk.heading_path)
    password = next(c for c in chunks if "再設定" in c.text)
    assert (password.page_start, password.heading_path) == (2, ("2. パスワード",))


def test_queries_drop_function_words_and_kana_only_bigrams() -> None:
    assert match_expression("What is the budget?") == 'body : "budget"'
    assert match_expression("the") == 'body : "the"'  # nothing else to search for
    expression = match_expression("東京はどこですか")
    assert 'cjk : "東京"' in expression
    assert "です" not in expression
    assert "すか" not in expression
    assert match_expression("  ?!  ") == ""


# --- Finding by meaning -----------------------------------------------------------------------

@pytest.fixture
def library(index: DocumentIndex) -> DocumentIndex:
    for name in ("aurora_report.pdf", "project_handbook.docx", "quarterly_review.pptx",
                 "faq.html", "onboarding.md"):
        index.add(extract(DOCUMENTS / name), embedder=minilm())
    return index


def test_a_paraphrase_without_shared_words_finds_the_passage(library: DocumentIndex) -> None:
    query = "How often do we practise evacuating for a blaze?"
    assert library.search(query, k=3) == []  # no word in common with any document
    hits = library.search(query, k=3, embedder=minilm())
    assert "Fire drills happen on the first Monday of every quarter" in hits[0].chunk.text
    assert (hits[0].lexical_rank, hits[0].dense_rank) == (None, 1)


def test_meaning_and_keywords_are_fused_by_reciprocal_rank(library: DocumentIndex) -> None:
    hits = library.search("How much money is set aside for upkeep next year?", k=8,
                          embedder=minilm())
    budget = [h for h in hits[:3] if "3.2 million euros" in h.chunk.text]
    assert budget, [h.chunk.text[:40] for h in hits]
    assert budget[0].chunk.page_start == 4
    for hit in hits:
        expected = sum(1 / (RRF_K + r) for r in (hit.lexical_rank, hit.dense_rank) if r)
        assert hit.score == pytest.approx(expected)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # Found by both lists beats found by one at the same or a better rank.
    both = [h for h in hits if h.lexical_rank and h.dense_rank]
    one = [h for h in hits if not (h.lexical_rank and h.dense_rank)]
    for a in both:
        for b in one:
            if max(a.lexical_rank or 0, a.dense_rank or 0) <= min(
                    r for r in (b.lexical_rank, b.dense_rank) if r):
                assert hits.index(a) < hits.index(b)


def test_search_is_limited_to_the_documents_asked_for(library: DocumentIndex) -> None:
    handbook = next(d for d in library.documents() if d.name == "project_handbook.docx")
    hits = library.search("reactor coolant budget", k=5, document_ids=[handbook.id],
                          embedder=minilm())
    assert hits
    assert {h.document.id for h in hits} == {handbook.id}
    assert library.search("reactor", document_ids=[]) == []


def test_neighbours_widen_a_hit(index: DocumentIndex, tmp_path: Path) -> None:
    paragraphs = [Block(f"Paragraph {i}: " + "the valve passed its test. " * 40, 1)
                  for i in range(5)]
    record = index.add(text_document(tmp_path, "valves.txt", *paragraphs))
    chunks = index.chunks(record.id)
    assert len(chunks) >= 5
    middle = chunks[2]
    assert [c.ordinal for c in index.neighbours(middle)] == [1, 3]
    assert [c.ordinal for c in index.neighbours(middle, n=2)] == [0, 1, 3, 4]
    assert [c.ordinal for c in index.neighbours(chunks[0])] == [1]


# --- Adding, re-adding, changing, removing ----------------------------------------------------

def test_an_unchanged_file_is_not_indexed_twice(index: DocumentIndex, tmp_path: Path) -> None:
    embedder = counting()
    path = tmp_path / "aurora_report.pdf"
    shutil.copyfile(DOCUMENTS / "aurora_report.pdf", path)
    first = index.add(extract(path), embedder=embedder)
    assert embedder.passages == first.chunk_count > 0
    again = index.add(extract(path), embedder=embedder, conversation_id=4)
    assert embedder.passages == first.chunk_count  # no embedding the second time
    assert again == first
    assert [d.id for d in index.documents(conversation_id=4)] == [first.id]
    # The same bytes elsewhere: a document of its own, chunks and vectors copied.
    copy = tmp_path / "copy of report.pdf"
    shutil.copyfile(path, copy)
    second = index.add(extract(copy), embedder=embedder)
    assert embedder.passages == first.chunk_count
    assert second.id != first.id
    assert second.chunk_count == first.chunk_count
    assert second.embedder_id == embedder.id
    assert [(c.text, c.char_start, c.page_start) for c in index.chunks(second.id)] == [
        (c.text, c.char_start, c.page_start) for c in index.chunks(first.id)]
    assert table_count(index.file, "SELECT count(*) FROM vectors") == 2 * first.chunk_count
    found = index.search("coolant pump", embedder=embedder)
    assert {h.document.id for h in found[:2]} == {first.id, second.id}


def test_a_changed_file_replaces_its_chunks(index: DocumentIndex, tmp_path: Path) -> None:
    embedder = counting()
    path = tmp_path / "notes.txt"
    path.write_text("The spare valve is kept in warehouse seven.", encoding="utf-8")
    first = index.add(extract(path), embedder=embedder, conversation_id=1)
    path.write_text("The spare pump is kept in the basement of building two.",
                    encoding="utf-8")
    second = index.add(extract(path), embedder=embedder)
    assert second.id == first.id  # the conversation keeps it
    assert second.sha256 != first.sha256
    assert embedder.passages == 2
    assert index.search("warehouse") == []
    assert index.search("basement")[0].document.id == first.id
    assert [d.id for d in index.documents(conversation_id=1)] == [first.id]
    assert table_count(index.file, "SELECT count(*) FROM chunks") == 1
    assert table_count(index.file, "SELECT count(*) FROM chunks_fts") == 1


def test_cancelling_an_add_writes_nothing(index: DocumentIndex) -> None:
    cancel = CancelToken()
    doc = extract(DOCUMENTS / "aurora_report.pdf")
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        cancel.cancel()

    with pytest.raises(IndexingCancelled):
        index.add(doc, embedder=minilm(), cancel=cancel, progress=progress)
    assert seen == [(0, seen[0][1])]
    assert index.documents() == []
    assert table_count(index.file, "SELECT count(*) FROM chunks") == 0


def test_removing_a_document_deletes_its_chunks_vectors_and_links(index: DocumentIndex,
                                                                  tmp_path: Path) -> None:
    report = index.add(extract(DOCUMENTS / "aurora_report.pdf"), embedder=minilm(),
                       conversation_id=1)
    guide = index.add(japanese(tmp_path), embedder=minilm(), conversation_id=1)
    collection = index.create_collection("Reports")
    index.add_to_collection(collection.id, report.id)
    assert index.remove(report.id)
    assert not index.remove(report.id)
    assert index.document(report.id) is None
    for table in ("chunks", "vectors", "chunks_fts"):
        assert table_count(index.file, f"SELECT count(*) FROM {table}") == guide.chunk_count
    assert all(h.document.id == guide.id for h in index.search("coolant", embedder=minilm()))
    assert [d.id for d in index.documents(conversation_id=1)] == [guide.id]
    assert index.collections()[0].document_count == 0


def test_a_file_that_failed_is_kept_with_the_reason(index: DocumentIndex) -> None:
    path = DOCUMENTS / "encrypted_hearth.pdf"
    with pytest.raises(DocumentError) as caught:
        extract(path)
    failed = index.record_failure(path, caught.value, kind="pdf", conversation_id=9)
    assert failed.status == "failed"
    assert failed.error == caught.value.user_message
    assert "password" in failed.error.lower()
    assert [d.status for d in index.documents(conversation_id=9)] == ["failed"]
    assert index.attached(9) == []  # nothing to read from it
    assert index.search("vault code") == []


# --- Embedders --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def other_embedder(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    """A second real embedder with a different id: the same network used e5-style, with
    "query: "/"passage: " prefixes, so its vectors really differ."""
    folder = minilm_folder(tmp_path_factory.mktemp("models"), name="multilingual-e5-small")
    return OnnxEmbedder.from_folder(folder)


def test_a_new_embedder_reembeds_everything_and_records_it(
        index: DocumentIndex, tmp_path: Path, other_embedder: OnnxEmbedder) -> None:
    old = counting()
    report = index.add(extract(DOCUMENTS / "aurora_report.pdf"), embedder=old)
    guide = index.add(japanese(tmp_path), embedder=old)
    lexical_only = index.add(extract(DOCUMENTS / "faq.html"))
    total = report.chunk_count + guide.chunk_count + lexical_only.chunk_count
    new = CountingEmbedder(other_embedder)
    assert new.id != old.id
    assert index.stale_chunks(new) == total
    assert index.reembed(new) == total
    assert new.passages == total
    assert index.stale_chunks(new) == 0
    assert {d.embedder_id for d in index.documents()} == {new.id}
    with sqlite3.connect(index.file) as db:
        assert db.execute("SELECT DISTINCT embedder_id FROM vectors").fetchall() == [(new.id,)]
    # Searching with the new one uses vectors; the old one has none left: lexical only.
    hits = index.search("How often do we practise evacuating for a blaze?", embedder=new)
    assert hits
    assert all(h.dense_rank is not None for h in hits)
    assert all(h.dense_rank is None
               for h in index.search("coolant pump budget", embedder=old))
    assert index.reembed(new) == 0  # nothing left to do
    # Adding an unchanged file with another embedder redoes it (chunks sized for that one).
    before = old.passages
    again = index.add(extract(DOCUMENTS / "faq.html"), embedder=old)
    assert (again.id, again.embedder_id) == (lexical_only.id, old.id)
    assert old.passages == before + again.chunk_count


def test_a_cancelled_reembed_keeps_the_documents_it_finished(
        index: DocumentIndex, tmp_path: Path, other_embedder: OnnxEmbedder) -> None:
    first = index.add(extract(DOCUMENTS / "aurora_report.pdf"), embedder=minilm())
    second = index.add(japanese(tmp_path), embedder=minilm())
    cancel = CancelToken()
    with pytest.raises(IndexingCancelled):
        index.reembed(other_embedder, cancel=cancel, progress=lambda done, total: cancel.cancel())
    assert index.document(first.id).embedder_id == other_embedder.id  # type: ignore[union-attr]
    assert index.document(second.id).embedder_id == minilm().id  # type: ignore[union-attr]
    assert index.stale_chunks(other_embedder) == second.chunk_count
    assert index.reembed(other_embedder) == second.chunk_count


def test_vectors_survive_the_round_trip_through_the_file(index: DocumentIndex) -> None:
    record = index.add(extract(DOCUMENTS / "aurora_report.pdf"), embedder=minilm())
    chunks = index.chunks(record.id)
    fresh = minilm().embed_passages([c.text for c in chunks])
    with sqlite3.connect(index.file) as db:
        stored = [np.frombuffer(db.execute("SELECT vector FROM vectors WHERE chunk_id = ?",
                                           (c.id,)).fetchone()[0], dtype="<f2")
                  for c in chunks]
    for saved, exact in zip(stored, fresh, strict=True):
        assert float(saved.astype(np.float32) @ exact) > 0.999  # float16 keeps the direction


# --- Collections and conversations ------------------------------------------------------------

def test_a_collection_attached_to_two_conversations(index: DocumentIndex,
                                                    tmp_path: Path) -> None:
    report = index.add(extract(DOCUMENTS / "aurora_report.pdf"))
    handbook = index.add(extract(DOCUMENTS / "project_handbook.docx"))
    guide = index.add(japanese(tmp_path), conversation_id=3)
    manuals = index.create_collection("  Plant   manuals ")
    assert manuals.name == "Plant manuals"
    assert index.create_collection("plant manuals").id == manuals.id
    index.add_to_collection(manuals.id, report.id)
    index.add_to_collection(manuals.id, handbook.id)
    index.attach(1, collection_id=manuals.id)
    index.attach(2, collection_id=manuals.id)
    both = {report.id, handbook.id}
    assert {d.id for d in index.documents(conversation_id=1)} == both
    assert {d.id for d in index.documents(conversation_id=2)} == both
    assert {d.id for d in index.documents(collection_id=manuals.id)} == both
    assert index.conversation_collections(2)[0].document_count == 2
    # Each conversation searches only what it has.
    assert index.search("東京", conversation_id=2) == []
    assert index.search("東京", conversation_id=3)[0].document.id == guide.id
    assert index.search("coolant", conversation_id=1)[0].document.id == report.id
    assert [d.document_id for d in index.attached(2)] == [report.id, handbook.id]
    index.detach(1, collection_id=manuals.id)
    assert index.documents(conversation_id=1) == []
    assert {d.id for d in index.documents(conversation_id=2)} == both
    index.attach(2, document_id=guide.id)
    index.delete_collection(manuals.id)
    assert [d.id for d in index.documents(conversation_id=2)] == [guide.id]
    assert len(index.documents()) == 3  # deleting a collection keeps its documents
    index.forget_conversation(2)
    assert index.documents(conversation_id=2) == []


def test_the_answer_context_is_built_from_the_index(index: DocumentIndex) -> None:
    embedder = minilm()
    report = index.add(extract(DOCUMENTS / "aurora_report.pdf"), embedder=embedder,
                       conversation_id=5)
    index.add(extract(DOCUMENTS / "project_handbook.docx"), embedder=embedder,
              conversation_id=5)
    question = "When was the coolant pump replaced?"
    context = build_context(
        question, index.attached(5),
        search=lambda q, k: [h.passage() for h in index.search(q, k=k, conversation_id=5,
                                                                  embedder=embedder)],
        neighbours=index.neighbour_passages, count_tokens=embedder.count_tokens,
        budget_tokens=200)
    assert context is not None
    assert context.mode == "retrieved"
    assert "12 March 2024" in context.text
    assert context.sources[0].document_id == report.id
    assert context.sources[0].label.startswith("aurora_report.pdf, p")
    assert context.sources[0].page_start is not None
    assert context.sources[0].page_start <= 3 <= (context.sources[0].page_end or 3)


# --- End to end: committed files --------------------------------------------------------------

@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentIndex]:
    """Every committed PDF extracted and indexed (the unreadable ones recorded as failed)."""
    with DocumentIndex.open(tmp_path_factory.mktemp("pdfs") / INDEX_FILE) as index:
        for path in sorted(DOCUMENTS.glob("*.pdf")):
            try:
                index.add(extract(path), embedder=minilm())
            except DocumentError as exc:
                index.record_failure(path, exc)
        yield index


@pytest.mark.parametrize(("name", "query", "fact", "page"), [
    ("aurora_report.pdf", "When was the coolant pump replaced?", "12 March 2024", 3),
    ("aurora_report.pdf", "Who is the chief operator?", "Helena Marsh", 2),
    ("it_guide_ja.pdf", "東京支社のパスワード再設定はいつですか", "毎月第2金曜日", 2),
    ("it_guide_ja.pdf", "ヘルプデスクの内線番号", "4321", 3),
    ("tategaki_ja.pdf", "議事録の保存期間", "十年", 1),
])
def test_a_fact_is_found_on_its_page(pdfs: DocumentIndex, name: str, query: str, fact: str,
                                     page: int) -> None:
    hits = pdfs.search(query, k=3, embedder=minilm())
    top = next(h for h in hits if fact in h.chunk.text)
    assert top.document.name == name
    assert top.chunk.page_start is not None
    assert top.chunk.page_start <= page <= (top.chunk.page_end or page)
    failed = [d.name for d in pdfs.documents() if d.status == "failed"]
    assert "encrypted_hearth.pdf" in failed


# --- The file ---------------------------------------------------------------------------------

def test_the_index_lives_next_to_the_conversations(app_paths: AppPaths) -> None:
    with DocumentIndex.for_paths(app_paths) as index:
        assert index.file == app_paths.data / INDEX_FILE
    with sqlite3.connect(app_paths.data / INDEX_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_older_file_is_upgraded_keeping_its_documents(tmp_path: Path) -> None:
    path = tmp_path / INDEX_FILE
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("BEGIN")
        MIGRATIONS[0](db)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO documents (id, path, path_key, name, status, added_at, "
                   "updated_at) VALUES (1, '/a.txt', '/a.txt', 'a.txt', 'indexed', 0, 0)")
        db.execute("INSERT INTO chunks (id, document_id, ordinal, text) "
                   "VALUES (1, 1, 0, 'The spare valve is in warehouse seven.')")
        db.execute("INSERT INTO chunks_fts (rowid, body, cjk) "
                   "VALUES (1, 'The spare valve is in warehouse seven.', '')")
        db.execute("COMMIT")
    with DocumentIndex.open(path) as index:
        (hit,) = index.search("warehouse")
        assert (hit.chunk.text, hit.chunk.char_start, hit.chunk.char_end) == (
            "The spare valve is in warehouse seven.", 0, 0)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_damaged_file_is_set_aside_on_opening(tmp_path: Path) -> None:
    path = tmp_path / INDEX_FILE
    garbage = b"this is not a database " * 500
    path.write_bytes(garbage)
    with DocumentIndex.open(path) as index:
        assert len(index.notices) == 1
        assert "damaged" in index.notices[0]
        (backup,) = tmp_path.glob(f"{INDEX_FILE}.corrupt-*")
        assert backup.read_bytes() == garbage
        assert str(backup) in index.notices[0]
        assert index.add(extract(DOCUMENTS / "faq.html")).status == "indexed"


def test_damage_found_by_a_query_raises_and_keeps_a_copy(tmp_path: Path) -> None:
    path = tmp_path / INDEX_FILE
    with DocumentIndex.open(path) as index:
        blocks = tuple(Block(f"Paragraph {i} about valves and pumps. " * 20, 1 + i // 5)
                       for i in range(200))
        index.add(text_document(tmp_path, "valves.txt", *blocks))
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    # The schema (first pages) stays readable, so opening succeeds; the chunks do not.
    for page in range(pages // 2, pages):
        data[page * 4096:(page + 1) * 4096] = b"\x07" * 4096
    path.write_bytes(bytes(data))
    with DocumentIndex.open(path) as index:
        assert index.notices == []
        with pytest.raises(StorageError, match="damaged") as caught:
            index.search("valves")
        (backup,) = tmp_path.glob(f"{INDEX_FILE}.corrupt-*")
        assert backup.read_bytes() == bytes(data)
        assert str(backup) in caught.value.user_message
        # The index goes on, empty, and takes documents again.
        assert index.documents() == []
        index.add(text_document(tmp_path, "valves.txt", *blocks))
        assert index.search("valves")


def test_a_file_from_a_newer_hearth_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / INDEX_FILE
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(StorageError, match="newer version of Hearth"):
        DocumentIndex.open(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_folder_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="document index"):
        DocumentIndex.open(blocker / "sub" / INDEX_FILE)
