"""A screenshot of a chat with documents: chips, a question and a reply that cites its sources.

    xvfb-run -a -s "-screen 0 1280x900x24" .venv/bin/python tools/screenshot_documents.py \\
        [OUT.png] [--dark] [--japanese]

Builds the window with a fresh conversation store and document index in a temporary folder,
loads the tiny test model, drops an English PDF and a Japanese one under a Japanese name (and a
scanned one, whose chip says why it failed) on the chat through real drag-and-drop events, and
waits until they are read. The question goes through the chat pane's send path with the real
document context (`context_for` on the real index), but the tiny model writes noise, so the
reply is scripted: it is streamed through the pane's own slots and cites the context's sources,
which the pane links and lists as it would for a real model. Saves
resources/screenshots/documents.png unless told otherwise. A CJK font (fonts-ipafont-gothic)
is needed for the Japanese text.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from PySide6.QtCore import QEventLoop, QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.chat import FinishReason, GenerationOptions, GenerationResult  # noqa: E402
from app.core.documents.context import context_for  # noqa: E402
from app.core.documents.embedder import approximate_tokens  # noqa: E402
from app.core.store import Store  # noqa: E402
from app.main import resources_dir, translations_dir  # noqa: E402
from app.ui.i18n import LanguageManager  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.theme import apply_theme  # noqa: E402
from app.workers.documents import DocumentService  # noqa: E402
from app.workers.generation import GenerationService  # noqa: E402

DOCS = ROOT / "tests/fixtures/documents"
MODEL = ROOT / "tests/fixtures/models/tiny-llama"
QUESTION = "When was the coolant pump replaced, and when does the Tokyo office reset passwords?"
QUESTION_JA = "冷却ポンプはいつ交換されましたか。東京支社のパスワード再設定はいつですか。"
ANSWER = (
    "The Aurora reactor's coolant pump was replaced on **12 March 2024** [{report}, p. 3]. "
    "The maintenance of the secondary loop was postponed to the spring shutdown, because the "
    "spare heat exchanger had not been delivered [{report}, p. 3].\n\n"
    "The Tokyo branch resets passwords on the **second Friday of every month**, and staff get "
    "an email the day before [{guide}, p. 2].")
ANSWER_JA = (
    "Aurora 研究炉の冷却ポンプは **2024年3月12日** に交換されました [{report}, p. 3]。"
    "二次系の保守は、予備の熱交換器が届いていないため春の停止期間に延期されています "
    "[{report}, p. 3]。\n\n"
    "東京支社のパスワード再設定は **毎月第2金曜日** に行われ、前日にメールで知らせが届きます "
    "[{guide}, p. 2]。")
SCRIPTED_RID = 20_000


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        wait(50)


def drop_files(window: MainWindow, paths: list[Path]) -> None:
    """Drag the files onto the chat and drop them, as a file manager does."""
    chat = window.chat
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    where = QPointF(chat.width() / 2, chat.height() / 2)
    QApplication.sendEvent(chat, QDragEnterEvent(
        where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier))
    QApplication.sendEvent(chat, QDropEvent(
        where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path, nargs="?",
                    default=ROOT / "resources/screenshots/documents.png")
    ap.add_argument("--dark", action="store_true")
    ap.add_argument("--japanese", action="store_true", help="the Japanese interface")
    args = ap.parse_args()
    app = QApplication(sys.argv)
    apply_theme(app, resources_dir(), dark=args.dark)
    language = LanguageManager(translations_dir(), parent=app)
    language.apply("ja" if args.japanese else "en")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "conversations.sqlite3")
        service = GenerationService()
        documents = DocumentService(Path(tmp) / "documents.sqlite3")
        window = MainWindow(service, None, store)
        window.chat.set_documents(documents)
        window.set_dark(args.dark)
        window.resize(1180, 820)
        window.show()
        guide = Path(tmp) / "社内ITガイド.pdf"
        shutil.copy(DOCS / "it_guide_ja.pdf", guide)
        try:
            shoot(app, window, service, documents, args.out, guide, japanese=args.japanese)
        finally:
            window.close()
            documents.shutdown()
            service.shutdown()
            store.close()
    print(args.out)
    return 0


def shoot(app: QApplication, window: MainWindow, service: GenerationService,
          documents: DocumentService, out: Path, guide: Path, *, japanese: bool) -> None:
    window.provider_combo.setCurrentIndex(window.provider_combo.findData("cpu"))
    window.load_model(str(MODEL))
    wait_until(lambda: service.model is not None, "the model")
    chat = window.chat
    chat.options = GenerationOptions(max_new_tokens=64, temperature=0.0)

    drop_files(window, [DOCS / "aurora_report.pdf", guide, DOCS / "scanned_invoice.pdf"])
    wait_until(lambda: len(chat.document_chips.items()) == 3
               and not chat.document_chips.busy(), "the documents to be read")

    # The pane's own send path; the reply is scripted (the tiny model writes noise).
    def send(_messages: object, _options: object, **kwargs: object) -> int:
        return SCRIPTED_RID

    service.send = send  # type: ignore[method-assign]
    question = QUESTION_JA if japanese else QUESTION
    chat.input.setPlainText(question)
    chat.send_or_stop()
    cid = chat.conversation_id
    assert cid is not None
    context = context_for(documents.query(cid), question, approximate_tokens, 6000)
    assert context is not None
    chat._on_service_context_built(SCRIPTED_RID, context)
    numbers = {s.name: s.n for s in context.sources}
    answer = (ANSWER_JA if japanese else ANSWER).format(report=numbers["aurora_report.pdf"],
                                                         guide=numbers[guide.name])
    tokens = 0
    for i in range(0, len(answer), 5):
        tokens += 1
        chat._on_service_text_generated(SCRIPTED_RID, answer[i:i + 5], tokens, False)
        app.processEvents()
    chat._on_service_finished(SCRIPTED_RID, GenerationResult(
        text=answer, token_ids=tuple(range(tokens)), finish_reason=FinishReason.STOP,
        provider="cpu", prompt_tokens=context.tokens + 40, cached_tokens=0,
        generated_tokens=tokens, ttft_ms=310.0, tok_s=24.6))
    del service.send
    wait(400)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))


if __name__ == "__main__":
    raise SystemExit(main())
