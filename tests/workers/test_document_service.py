"""DocumentService: real documents read and indexed on the thread pool into a real index file,
with progress, failures kept with their reason, cancel, libraries and re-embedding."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.documents.index import DocumentIndex
from app.workers.documents import DocumentItem, DocumentService, path_key
from tests.conftest import FIXTURES
from tests.embedders import minilm, minilm_folder

DOCS = FIXTURES / "documents"


class Recorder:
    """Every item the service reported, per path."""

    def __init__(self, service: DocumentService) -> None:
        self.states: dict[str, list[DocumentItem]] = {}
        self.removed: list[tuple[int, str]] = []
        self.finished: list[int] = []
        self.errors: list[str] = []
        service.document_added.connect(self._on_item)
        service.document_state_changed.connect(self._on_item)
        service.document_removed.connect(lambda cid, path: self.removed.append((cid, path)))
        service.indexing_finished.connect(self.finished.append)
        service.error_occurred.connect(self.errors.append)

    def _on_item(self, _cid: int, item: DocumentItem) -> None:
        self.states.setdefault(path_key(item.path), []).append(item)

    def last(self, path: Path) -> DocumentItem:
        return self.states[path_key(path)][-1]

    def seen(self, path: Path) -> list[str]:
        return [item.state for item in self.states.get(path_key(path), [])]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DocumentService]:
    svc = DocumentService(tmp_path / "index" / "documents.sqlite3")
    yield svc
    svc.shutdown()


def wait_idle(qtbot: QtBot, service: DocumentService, cid: int) -> None:
    qtbot.waitUntil(lambda: not service.is_busy(cid), timeout=60_000)


def test_dropped_files_are_read_indexed_and_attached(qtbot: QtBot,
                                                     service: DocumentService) -> None:
    seen = Recorder(service)
    files = [DOCS / "aurora_report.pdf", DOCS / "project_handbook.docx", DOCS / "経理規程.docx",
             DOCS / "scanned_invoice.pdf"]
    with qtbot.waitSignal(service.indexing_finished, timeout=60_000) as done:
        assert service.add_paths(3, files) == 4
    assert done.args == [3]
    report = seen.last(DOCS / "aurora_report.pdf")
    assert report.state == "indexed"
    assert report.page_count is not None
    assert report.page_count >= 1
    assert report.document_id is not None
    # Each file went through queued and reading before its end state.
    assert seen.seen(DOCS / "aurora_report.pdf")[:2] == ["queued", "reading"]
    assert seen.last(DOCS / "経理規程.docx").state == "indexed"
    scanned = seen.last(DOCS / "scanned_invoice.pdf")
    assert scanned.state == "failed"
    assert "OCR" in scanned.detail
    attached = {r.name: r for r in service.index.documents(conversation_id=3)}
    assert set(attached) == {f.name for f in files}
    assert attached["scanned_invoice.pdf"].status == "failed"
    assert service.has_documents(3)
    assert not service.has_documents(4)
    # The conversation's items, as the chips show them on loading it.
    items = {i.name: i for i in service.items(3)}
    assert items["scanned_invoice.pdf"].detail == scanned.detail
    assert items["aurora_report.pdf"].state == "indexed"
    hits = service.index.search("締め日", conversation_id=3)
    assert hits
    assert hits[0].document.name == "経理規程.docx"


def test_a_failure_is_kept_with_its_reason_for_the_next_session(
        qtbot: QtBot, tmp_path: Path) -> None:
    index_path = tmp_path / "documents.sqlite3"
    first = DocumentService(index_path)
    try:
        with qtbot.waitSignal(first.indexing_finished, timeout=60_000):
            first.add_paths(1, [DOCS / "encrypted_hearth.pdf"])
    finally:
        first.shutdown()
    second = DocumentService(index_path)
    try:
        [item] = second.items(1)
        assert item.state == "failed"
        assert "password" in item.detail
        assert not second.has_documents(1)
    finally:
        second.shutdown()


def test_a_dropped_folder_is_walked_for_readable_files(qtbot: QtBot, tmp_path: Path,
                                                       service: DocumentService) -> None:
    folder = tmp_path / "資料"  # a Japanese folder name on the way, too
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    shutil.copy(DOCS / "onboarding.md", folder / "onboarding.md")
    shutil.copy(DOCS / "it_guide_ja.pdf", folder / "sub" / "IT手順書.pdf")
    shutil.copy(DOCS / "faq.html", folder / ".hidden" / "faq.html")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    seen = Recorder(service)
    with qtbot.waitSignal(service.indexing_finished, timeout=60_000):
        assert service.add_paths(5, [folder]) == 0  # the walk comes back later
    names = sorted(r.name for r in service.index.documents(conversation_id=5))
    assert names == ["IT手順書.pdf", "onboarding.md"]
    assert seen.last(folder / "sub" / "IT手順書.pdf").state == "indexed"
    assert service.index.search("パスワード", conversation_id=5)


def test_an_empty_folder_says_so(qtbot: QtBot, tmp_path: Path,
                                 service: DocumentService) -> None:
    (tmp_path / "empty").mkdir()
    with qtbot.waitSignal(service.error_occurred, timeout=10_000) as error:
        service.add_paths(1, [tmp_path / "empty"])
    assert "empty" in error.args[0]
    qtbot.waitUntil(lambda: not service.is_busy(1))


def big_text(path: Path, megabytes: int = 4) -> Path:
    line = "The coolant pump of unit {n} was inspected and found in order.\n"
    with path.open("w", encoding="utf-8") as out:
        n = 0
        while out.tell() < megabytes * 1024 * 1024:
            out.write(line.format(n=n) * 20 + "\n")
            n += 1
    return path


def test_cancel_stops_a_running_file_and_writes_nothing(qtbot: QtBot, tmp_path: Path,
                                                        service: DocumentService) -> None:
    big = big_text(tmp_path / "big.txt")
    seen = Recorder(service)
    with qtbot.waitSignal(service.document_state_changed, timeout=30_000,
                          check_params_cb=lambda cid, item: item.state == "reading"):
        service.add_paths(2, [big])
    with qtbot.waitSignal(service.indexing_finished, timeout=60_000):
        assert service.cancel(2, big)
    assert seen.removed == [(2, str(big))]
    assert service.index.documents(conversation_id=2) == []
    assert not service.cancel(2, big)  # nothing left to cancel


def test_cancel_all_drops_queued_files_at_once(qtbot: QtBot, tmp_path: Path) -> None:
    service = DocumentService(tmp_path / "documents.sqlite3", max_jobs=1)
    try:
        big = big_text(tmp_path / "big.txt")
        seen = Recorder(service)
        service.add_paths(2, [big, DOCS / "onboarding.md", DOCS / "faq.html"])
        assert service.running_paths() == [str(big)]
        assert [i.name for i in service.pending(2)] == ["big.txt", "onboarding.md", "faq.html"]
        # The queued ones go at once, without waiting for the running one.
        assert service.cancel(2, DOCS / "faq.html")
        assert (2, str(DOCS / "faq.html")) in seen.removed
        with qtbot.waitSignal(service.indexing_finished, timeout=60_000):
            service.cancel_all(2)
        assert {p for _cid, p in seen.removed} == {str(big), str(DOCS / "onboarding.md"),
                                                   str(DOCS / "faq.html")}
        assert service.index.documents(conversation_id=2) == []
    finally:
        service.shutdown()


def test_detach_leaves_the_document_for_other_conversations(
        qtbot: QtBot, service: DocumentService) -> None:
    for cid in (1, 2):
        with qtbot.waitSignal(service.indexing_finished, timeout=60_000):
            service.add_paths(cid, [DOCS / "aurora_report.pdf"])
    seen = Recorder(service)
    service.detach(1, DOCS / "aurora_report.pdf")
    assert seen.removed == [(1, str(DOCS / "aurora_report.pdf"))]
    assert service.index.documents(conversation_id=1) == []
    assert [r.name for r in service.index.documents(conversation_id=2)] == ["aurora_report.pdf"]
    # Deleted conversations lose their links; the document stays indexed.
    service.forget_conversations([2])
    assert service.index.documents(conversation_id=2) == []
    assert service.index.find(DOCS / "aurora_report.pdf") is not None


def test_a_library_saved_from_one_chat_attaches_to_another(
        qtbot: QtBot, service: DocumentService) -> None:
    with qtbot.waitSignal(service.indexing_finished, timeout=60_000):
        service.add_paths(1, [DOCS / "aurora_report.pdf", DOCS / "scanned_invoice.pdf",
                              DOCS / "project_handbook.docx"])
    library = service.save_collection(1, "  Project   files ")
    assert library is not None
    assert library.name == "Project files"
    assert library.document_count == 2  # the failed scan is not worth sharing
    with qtbot.waitSignal(service.collections_changed):
        service.attach_collection(9, library.id)
    assert [c.name for c in service.conversation_collections(9)] == ["Project files"]
    assert service.has_documents(9)
    # Its documents come with the library, not as chips of their own.
    assert service.items(9) == []
    assert service.query(9).conversation_id == 9
    service.detach_collection(9, library.id)
    assert not service.has_documents(9)
    assert [c.name for c in service.collections()] == ["Project files"]


def test_a_new_embedder_embeds_what_was_indexed_by_words(qtbot: QtBot, tmp_path: Path,
                                                         service: DocumentService) -> None:
    with qtbot.waitSignal(service.indexing_finished, timeout=60_000):
        service.add_paths(1, [DOCS / "aurora_report.pdf", DOCS / "project_handbook.docx"])
    embedder = minilm()
    stale = service.index.stale_chunks(embedder)
    assert stale > 0
    folder = minilm_folder(tmp_path / "models")
    with qtbot.waitSignal(service.reembed_finished, timeout=120_000) as done:
        service.set_embedder_folder(folder)
    assert done.args[0] == stale
    assert service.query(1).embedder_folder == folder
    loaded = service.index.documents(conversation_id=1)
    assert {r.embedder_id for r in loaded} != {""}
    # A file added now is embedded as it is indexed.
    with qtbot.waitSignal(service.indexing_finished, timeout=60_000):
        service.add_paths(1, [DOCS / "onboarding.md"])
    record = service.index.find(DOCS / "onboarding.md")
    assert record is not None
    assert record.embedder_id == loaded[0].embedder_id


def test_an_index_that_cannot_be_opened_is_said(qtbot: QtBot, tmp_path: Path) -> None:
    where = tmp_path / "documents.sqlite3"
    where.mkdir()  # a folder where the file should be
    service = DocumentService(where)
    try:
        with qtbot.waitSignal(service.error_occurred, timeout=5_000) as error:
            assert service.add_paths(1, [DOCS / "onboarding.md"]) == 0
        assert "document index" in error.args[0]
        assert not service.is_busy(1)
    finally:
        service.shutdown()


def test_shutdown_mid_read_closes_cleanly(qtbot: QtBot, tmp_path: Path) -> None:
    service = DocumentService(tmp_path / "documents.sqlite3")
    service.add_paths(1, [big_text(tmp_path / "big.txt")])
    service.shutdown()
    assert service.add_paths(1, [DOCS / "onboarding.md"]) == 0
    # The file is whole and readable after the interrupted add.
    with DocumentIndex.open(tmp_path / "documents.sqlite3") as index:
        assert index.integrity_check() == []
