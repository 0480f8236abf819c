"""Documents in the chat window: real files dropped with real drag-and-drop events, read into a
real index, asked about with the real tiny model; the excerpts saved with the question, the
sources listed under the reply and opened from it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QGuiApplication,
)
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.core.chat import GenerationOptions
from app.core.documents.answer import Source
from app.core.documents.extract import extract
from app.core.documents.index import DocumentIndex
from app.core.paths import AppPaths
from app.core.settings import SettingsStore
from app.core.store import Store
from app.main import build_window, resources_dir, translations_dir
from app.ui.chat_pane import ChatPane
from app.ui.document_chips import DocumentChip, local_paths
from app.ui.i18n import LanguageManager
from app.ui.main_window import MainWindow
from app.ui.message_widget import MessageWidget
from app.ui.theme import ThemeManager
from app.workers.documents import DocumentItem, DocumentService
from app.workers.generation import GenerationService
from tests.conftest import FIXTURES, TINY_LLAMA
from tests.embedders import minilm_folder
from tests.workers.test_document_service import big_text

DOCS = FIXTURES / "documents"


@dataclass
class Setup:
    window: MainWindow
    service: GenerationService
    documents: DocumentService
    store: Store

    @property
    def chat(self) -> ChatPane:
        return self.window.chat


@pytest.fixture
def setup(qtbot: QtBot, tmp_path: Path) -> Iterator[Setup]:
    store = Store.open(tmp_path / "conversations.sqlite3")
    service = GenerationService()
    window = MainWindow(service, None, store)
    documents = DocumentService(tmp_path / "documents.sqlite3")
    window.chat.set_documents(documents)
    qtbot.addWidget(window)
    window.show()
    yield Setup(window, service, documents, store)
    window.close()
    documents.shutdown()
    service.shutdown()
    store.close()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[QUrl]:
    """What QDesktopServices.openUrl was asked to open (nothing is opened for real)."""
    urls: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        urls.append(QUrl(url))
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    return urls


def file_mime(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop(target: QWidget, paths: list[Path], *, into: ChatPane) -> None:
    """Drag files over `target` and drop them on the chat, as a file manager would."""
    mime = file_mime(paths)
    enter = QDragEnterEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    assert into._drop_overlay.isVisible()  # the highlight says where the files go
    drop_event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(into, drop_event)
    assert drop_event.isAccepted()
    assert not into._drop_overlay.isVisible()


def chip(chat: ChatPane, path: Path) -> DocumentChip:
    found = chat.document_chips.chip(str(path))
    assert found is not None, f"no chip for {path}"
    return found


def wait_indexed(qtbot: QtBot, chat: ChatPane) -> None:
    qtbot.waitUntil(lambda: bool(chat.document_chips.items())
                    and not chat.document_chips.busy(), timeout=60_000)


def load(qtbot: QtBot, setup: Setup) -> None:
    window = setup.window
    window.provider_combo.setCurrentIndex(window.provider_combo.findData("cpu"))
    with qtbot.waitSignal(setup.service.model_loaded, timeout=30_000):
        window.load_model(str(TINY_LLAMA))
    setup.chat.options = GenerationOptions(max_new_tokens=12, temperature=0.0)


def ask(qtbot: QtBot, setup: Setup, text: str) -> None:
    setup.chat.input.setPlainText(text)
    with qtbot.waitSignal(setup.service.finished, timeout=60_000):
        qtbot.keyClick(setup.chat.input, Qt.Key.Key_Return)


# -- attaching ------------------------------------------------------------------------------------

def test_dropped_documents_become_chips_that_reach_indexed(qtbot: QtBot, setup: Setup) -> None:
    chat = setup.chat
    assert chat.document_chips.isHidden()
    files = [DOCS / "aurora_report.pdf", DOCS / "it_guide_ja.pdf",
             DOCS / "project_handbook.docx", DOCS / "経理規程.docx", DOCS / "scanned_invoice.pdf"]
    # Dragged over the message box: the box leaves the files to the chat.
    drop(chat.input.viewport(), files, into=chat)
    assert chat.input.toPlainText() == ""
    # The drop created the conversation that owns the documents.
    cid = chat.conversation_id
    assert cid is not None
    assert [c.id for c in setup.store.list_conversations()] == [cid]
    assert chat.document_chips.isVisible()
    wait_indexed(qtbot, chat)
    report = chip(chat, DOCS / "aurora_report.pdf")
    assert report.item is not None
    assert report.item.state == "indexed"
    assert report.state_label.text().endswith("pages") or report.state_label.text() == "1 page"
    assert chip(chat, DOCS / "経理規程.docx").item.state == "indexed"  # type: ignore[union-attr]
    scanned = chip(chat, DOCS / "scanned_invoice.pdf")
    assert scanned.state_label.text().startswith("Failed: ")
    assert "OCR" in scanned.toolTip()  # the whole reason, where the chip has no room
    assert scanned.property("state") == "failed"
    names = {r.name for r in setup.documents.index.documents(conversation_id=cid)}
    assert names == {f.name for f in files}
    assert not chat.document_chips.stop_button.isVisible()


def test_a_dropped_folder_with_a_japanese_path_expands(qtbot: QtBot, setup: Setup,
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "社内資料"
    (folder / "規程").mkdir(parents=True)
    shutil.copy(DOCS / "経理規程.docx", folder / "規程" / "経理規程.docx")
    shutil.copy(DOCS / "it_guide_ja.pdf", folder / "IT手順書.pdf")
    chat = setup.chat
    drop(chat._scroll.viewport(), [folder], into=chat)
    qtbot.waitUntil(lambda: len(chat.document_chips.items()) == 2
                    and not chat.document_chips.busy(), timeout=60_000)
    assert {i.name for i in chat.document_chips.items()} == {"経理規程.docx", "IT手順書.pdf"}
    assert all(i.state == "indexed" for i in chat.document_chips.items())


def test_drag_leave_takes_the_highlight_away_and_other_drops_are_refused(
        qtbot: QtBot, setup: Setup) -> None:
    chat = setup.chat
    mime = file_mime([DOCS / "faq.html"])  # kept: the event does not own it
    enter = QDragEnterEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(chat, enter)
    assert chat._drop_overlay.isVisible()
    QApplication.sendEvent(chat, QDragLeaveEvent())
    assert not chat._drop_overlay.isVisible()
    words = QMimeData()
    words.setText("just some words")
    refused = QDragEnterEvent(QPointF(5, 5), Qt.DropAction.CopyAction, words,
                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(chat, refused)
    assert not chat._drop_overlay.isVisible()
    assert chat.conversation_id is None


def test_pasting_a_path_attaches_the_file(qtbot: QtBot, setup: Setup) -> None:
    chat = setup.chat
    QGuiApplication.clipboard().setText(f'"{DOCS / "onboarding.md"}"')
    chat.input.paste()
    assert chat.input.toPlainText() == ""
    qtbot.waitUntil(lambda: chat.document_chips.chip(str(DOCS / "onboarding.md")) is not None
                    and not chat.document_chips.busy(), timeout=30_000)
    # Ordinary text is pasted as text.
    QGuiApplication.clipboard().setText("/not/a/real/file.pdf")
    chat.input.paste()
    assert chat.input.toPlainText() == "/not/a/real/file.pdf"


def test_local_paths_reads_urls_and_path_text(tmp_path: Path) -> None:
    assert local_paths(file_mime([DOCS / "faq.html", tmp_path])) == [
        str(DOCS / "faq.html"), str(tmp_path)]
    mixed = QMimeData()
    mixed.setUrls([QUrl.fromLocalFile(str(DOCS / "faq.html")), QUrl("https://example.com/")])
    assert local_paths(mixed) == []
    text = QMimeData()
    text.setText(f"{DOCS / 'faq.html'}\n'{DOCS / 'onboarding.md'}'\n")
    assert local_paths(text) == [str(DOCS / "faq.html"), str(DOCS / "onboarding.md")]
    folder = QMimeData()
    folder.setText(str(tmp_path))  # a folder's path pasted as text is just text
    assert local_paths(folder) == []


def test_clicking_a_chip_opens_the_file(qtbot: QtBot, setup: Setup,
                                        opened: list[QUrl]) -> None:
    chat = setup.chat
    chat.attach_paths([str(DOCS / "project_handbook.docx")])
    wait_indexed(qtbot, chat)
    target = chip(chat, DOCS / "project_handbook.docx")
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
    assert opened == [QUrl.fromLocalFile(str(DOCS / "project_handbook.docx"))]


def test_removing_a_chip_detaches_the_document(qtbot: QtBot, setup: Setup) -> None:
    chat = setup.chat
    chat.attach_paths([str(DOCS / "aurora_report.pdf"), str(DOCS / "onboarding.md")])
    wait_indexed(qtbot, chat)
    cid = chat.conversation_id
    qtbot.mouseClick(chip(chat, DOCS / "onboarding.md").remove_button, Qt.MouseButton.LeftButton)
    assert chat.document_chips.chip(str(DOCS / "onboarding.md")) is None
    assert [r.name for r in setup.documents.index.documents(conversation_id=cid)] == [
        "aurora_report.pdf"]
    # Loading the conversation again shows what is attached.
    assert cid is not None
    chat.new_chat()
    assert chat.document_chips.isHidden()
    chat.load_conversation(cid)
    assert [i.name for i in chat.document_chips.items()] == ["aurora_report.pdf"]


def test_cancelling_a_document_being_read(qtbot: QtBot, setup: Setup, tmp_path: Path) -> None:
    chat = setup.chat
    big = big_text(tmp_path / "big.txt")
    seen: list[str] = []

    def on_state(_cid: int, item: DocumentItem) -> None:
        # The user clicks the chip's cross while it says "Reading" (done here, as the chip
        # shows it: a poll could miss a state that lasts less than its interval).
        if item.state == "reading" and not seen:
            seen.append(chip(chat, big).state_label.text())
            assert chat.document_chips.stop_button.isVisible()
            qtbot.mouseClick(chip(chat, big).remove_button, Qt.MouseButton.LeftButton)

    setup.documents.document_state_changed.connect(on_state)
    with qtbot.waitSignal(setup.documents.indexing_finished, timeout=60_000):
        chat.attach_paths([str(big)])
    assert seen
    assert seen[0].startswith("Reading")
    assert chat.document_chips.chip(str(big)) is None
    assert setup.documents.index.documents(conversation_id=chat.conversation_id) == []


def test_a_library_is_saved_and_attached_to_another_chat(qtbot: QtBot, setup: Setup) -> None:
    chat = setup.chat
    chat.attach_paths([str(DOCS / "aurora_report.pdf"), str(DOCS / "経理規程.docx")])
    wait_indexed(qtbot, chat)
    assert chat.save_library_as("Handbooks")
    assert "Handbooks" in chat.status.text()
    chat.new_chat()
    chat.attach_button.refresh_libraries()
    [action] = chat.attach_button.library_menu.actions()
    assert action.text() == "Handbooks (2)"
    action.trigger()
    cid = chat.conversation_id
    assert cid is not None
    [library_chip] = chat.document_chips.chips()
    assert library_chip.name_label.text() == "Library: Handbooks"
    assert setup.documents.has_documents(cid)
    qtbot.mouseClick(library_chip.remove_button, Qt.MouseButton.LeftButton)
    assert chat.document_chips.chips() == []
    assert not setup.documents.has_documents(cid)


def test_deleted_conversations_lose_their_documents_at_the_next_start(
        qtbot: QtBot, setup: Setup) -> None:
    chat = setup.chat
    chat.attach_paths([str(DOCS / "onboarding.md")])
    wait_indexed(qtbot, chat)
    cid = chat.conversation_id
    assert cid is not None
    setup.store.delete(cid)
    setup.documents.forget_deleted_conversations(setup.store)
    assert setup.documents.index.documents(conversation_id=cid) == []
    assert setup.documents.index.find(DOCS / "onboarding.md") is not None


# -- asking ----------------------------------------------------------------------------------------

def test_asking_saves_the_excerpts_and_lists_the_sources(qtbot: QtBot, setup: Setup,
                                                         opened: list[QUrl]) -> None:
    load(qtbot, setup)
    chat = setup.chat
    drop(chat, [DOCS / "aurora_report.pdf", DOCS / "経理規程.docx"], into=chat)
    wait_indexed(qtbot, chat)
    with qtbot.waitSignal(setup.service.context_built, timeout=60_000) as built:
        ask(qtbot, setup, "When was the coolant pump replaced?")
    context = built.args[1]
    cid = chat.conversation_id
    assert cid is not None
    question, _reply = setup.store.path(cid)
    assert question.content == "When was the coolant pump replaced?"
    assert question.context
    assert question.context == context.text
    names = {s["name"] for s in question.sources}
    assert "aurora_report.pdf" in names
    report = next(s for s in question.sources if s["name"] == "aurora_report.pdf")
    assert report["page_start"] is not None
    # The next turn sends the model the question with its excerpts, as it read them.
    asked, answer = chat.message_widgets
    assert asked.chat_message is not None
    assert asked.chat_message.content.startswith(context.text)
    assert asked.markdown() == "When was the coolant pump replaced?"
    assert not answer.sources_view.isHidden()
    assert "aurora_report.pdf, p." in answer.sources_view.text()

    # Reloaded, the conversation shows the same sources, and they open the file.
    chat.new_chat()
    chat.load_conversation(cid)
    asked, answer = chat.message_widgets
    assert asked.chat_message is not None
    assert asked.chat_message.content.startswith(context.text)
    assert [s.label for s in answer.sources()] == [s.label for s in context.sources]
    assert not answer.sources_view.isHidden()
    n = next(s.n for s in answer.sources() if s.name == "aurora_report.pdf")
    answer.sources_view.linkActivated.emit(f"hearth-source:{n}")
    assert opened == [QUrl.fromLocalFile(str(DOCS / "aurora_report.pdf"))]
    assert "aurora_report.pdf" in chat.status.text()

    # Regenerated, the reply keeps the question's excerpts: no new search, same sources, the
    # saved context untouched, so both versions of the reply cite the same pages.
    rebuilt: list[object] = []
    setup.service.context_built.connect(lambda rid, ctx: rebuilt.append(ctx))
    with qtbot.waitSignal(setup.service.finished, timeout=60_000) as done:
        chat.regenerate()
    assert rebuilt == []
    assert done.args[1].prompt_tokens > context.tokens  # the excerpts were still in the prompt
    _asked, again = chat.message_widgets
    assert [s.label for s in again.sources()] == [s.label for s in context.sources]
    assert setup.store.get_message(question.id).context == context.text


def test_send_waits_until_the_documents_are_read(qtbot: QtBot, setup: Setup,
                                                 tmp_path: Path) -> None:
    load(qtbot, setup)
    chat = setup.chat
    big = big_text(tmp_path / "pumps.txt", megabytes=2)
    chat.attach_paths([str(big)])
    chat.input.setPlainText("Which unit was inspected?")
    with qtbot.waitSignal(setup.service.context_built, timeout=60_000) as built:
        qtbot.keyClick(chat.input, Qt.Key.Key_Return)
        # Not sent yet: it waits for the file.
        assert chat.message_widgets == ()
        assert chat.send_button.text() == "Waiting…"
        assert not chat.send_button.isEnabled()
    assert built.args[1].sources[0].name == "pumps.txt"
    qtbot.waitUntil(lambda: chat.send_button.text() in ("Send", "Stop"), timeout=5_000)
    assert chat.message_widgets[0].markdown() == "Which unit was inspected?"
    qtbot.waitUntil(lambda: setup.service.current_request_id is None, timeout=60_000)


# -- citations -------------------------------------------------------------------------------------

SOURCES = (Source(1, 1, "aurora_report.pdf", str(DOCS / "aurora_report.pdf"), 2, 3),
           Source(2, 2, "経理規程.docx", str(DOCS / "経理規程.docx"), None, None))
ANSWER = ("The pump was replaced in March [1, p. 2]. Expenses close on the 25th [2].\n\n"
          "Some say otherwise [7].")


def test_citations_become_links_once_the_reply_is_finished(qtbot: QtBot) -> None:
    widget = MessageWidget("assistant", "model")
    qtbot.addWidget(widget)
    widget.set_sources(SOURCES)
    widget.append(ANSWER)
    assert "hearth-source" not in widget.body._closed.toHtml()  # not while streaming
    widget.finish()
    rendered = widget.body._closed.toHtml() + widget.body._tail.toHtml()
    assert 'href="hearth-source:1/2"' in rendered
    assert 'href="hearth-source:2"' in rendered
    assert "hearth-source:7" not in rendered  # a number the model made up stays text
    assert "[1, p. 2]" in widget.body._closed.toPlainText()  # the brackets stay visible
    assert widget.markdown() == ANSWER  # what Copy takes: the answer as written
    widget.copy_button.click()
    assert QGuiApplication.clipboard().text() == ANSWER
    assert [s.n for s in widget.ordered_sources()] == [1, 2]
    with qtbot.waitSignal(widget.source_activated) as clicked:
        widget.body._closed.anchorClicked.emit(QUrl("hearth-source:1/2"))
    assert clicked.args == [SOURCES[0], 2]


def test_the_sources_list_puts_cited_ones_first(qtbot: QtBot) -> None:
    widget = MessageWidget("assistant", "model")
    qtbot.addWidget(widget)
    widget.set_sources(SOURCES)
    widget.set_text("Only the rules matter here [2].")
    widget.finish()
    assert [s.n for s in widget.ordered_sources()] == [2, 1]
    text = widget.sources_view.text()
    assert text.index("経理規程.docx") < text.index("aurora_report.pdf, pp. 2-3")
    # A source with no page opens at its first page (none here).
    with qtbot.waitSignal(widget.source_activated) as clicked:
        widget.sources_view.linkActivated.emit("hearth-source:2")
    assert clicked.args == [SOURCES[1], 0]


def test_a_cited_page_opens_the_file_and_names_the_page(qtbot: QtBot, setup: Setup,
                                                         opened: list[QUrl]) -> None:
    chat = setup.chat
    widget = chat._add_widget("assistant", "model")
    widget.set_sources(SOURCES)
    widget.set_text(ANSWER)
    widget.finish()
    widget.body._closed.anchorClicked.emit(QUrl("hearth-source:1/2"))
    # The file itself, without a #page fragment (which would send it to a browser on Windows).
    assert opened == [QUrl.fromLocalFile(str(DOCS / "aurora_report.pdf"))]
    assert not opened[0].hasFragment()
    assert "page 2" in chat.status.text()
    # A file that is gone is said, not silently ignored.
    gone = Source(3, 3, "moved.pdf", str(Path(DOCS, "moved.pdf")), 1, 1)
    widget.set_sources((*SOURCES, gone))
    widget.sources_view.linkActivated.emit("hearth-source:3")
    assert len(opened) == 1
    assert "moved.pdf" in chat._banner.text()


def test_a_long_question_is_not_cut_off(qtbot: QtBot, setup: Setup) -> None:
    # Questions about documents run long; the right-aligned bubble used to get the height of
    # its text at the chat's full width, then was narrowed, and its last line was cut off.
    chat = setup.chat
    chat._stack.setCurrentWidget(chat._scroll)
    qtbot.waitUntil(lambda: chat._scroll.viewport().width() > 600)
    full = chat._scroll.viewport().width() - 48 - 28  # the list's and the bubble's margins
    probe = MessageWidget("user")
    qtbot.addWidget(probe)
    text = ""
    for _ in range(200):  # a question one line long at the full width, two in the bubble
        text += "coolant pump "
        probe.body.set_markdown(text)
        if probe.body.heightForWidth(480) > probe.body.heightForWidth(full):
            break
    bubble = chat._add_user_widget(text.strip())
    qtbot.waitUntil(lambda: bubble.isVisible() and bubble.body.width() > 0)
    qtbot.wait(50)
    width = bubble.body.width()
    assert width < full
    assert bubble.body.heightForWidth(width) > bubble.body.heightForWidth(full)
    assert bubble.body.height() >= bubble.body.heightForWidth(width)


def test_the_app_gives_the_chat_its_documents(qtbot: QtBot, qapp: QApplication,
                                              app_paths: AppPaths) -> None:
    # A conversation deleted in an earlier session still links a document.
    with Store.for_paths(app_paths.ensure()) as conversations:
        trashed = conversations.create_conversation(first_message="about the report").id
        conversations.delete(trashed)
    with DocumentIndex.for_paths(app_paths) as index:
        index.add(extract(DOCS / "onboarding.md"), conversation_id=trashed)
    settings_store = SettingsStore(app_paths)
    settings, warnings = settings_store.load()
    hearth = build_window(app_paths, settings_store, settings, warnings,
                          ThemeManager(qapp, resources_dir()), LanguageManager(translations_dir()))
    qtbot.addWidget(hearth.window)
    try:
        documents = hearth.documents
        assert documents is not None
        assert hearth.window.chat.documents is documents
        assert documents.index_path == app_paths.data / "documents.sqlite3"
        assert documents.index.documents(conversation_id=trashed) == []
        assert documents.embedder_folder is None  # no search model downloaded yet
        # The search model arrives (as the models pane installs it): indexed text is embedded.
        embedder_id = hearth.models.catalog.embedders[0].id
        folder = minilm_folder(hearth.models.embedder_dest(embedder_id).parent, name=embedder_id)
        with qtbot.waitSignal(documents.reembed_finished, timeout=120_000) as done:
            hearth.models.embedders_changed.emit()
        assert documents.embedder_folder == folder
        assert done.args[0] > 0
    finally:
        hearth.shutdown()
