"""Screenshots of the main window for review and the README.

    python tools/screenshot_window.py OUT_DIR [--model DIR]

Takes: the first-run state; a conversation with the real model (the tiny test models write
noise); a scripted Markdown reply streamed through the same chat pane path, which shows what a
real model's answer looks like; and, with the tiny gpt-oss loaded, a scripted gpt-oss-like reply
(thinking first, then the answer) fed through the chat pane's own slots: mid-thinking, finished
(thinking folded away) and with the thinking reopened. Runs offscreen unless DISPLAY is set
(e.g. under Xvfb).

Then the conversation history: a window-like composition of the history sidebar beside the chat
pane (a QSplitter; the real window's layout is MainWindow's), with conversations in a temporary
store spread over the date groups, English and Japanese, one of them open with a regenerated
reply ("< 2/2 >"): 07-history.png, 08-history-search.png with a Japanese search, and
09-history-dark.png in the dark theme. `--history-only` takes just those.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication, QSplitter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.chat import (  # noqa: E402
    ChatMessage,
    FinishReason,
    GenerationOptions,
    GenerationResult,
)
from app.core.store import ConversationSettings, Store  # noqa: E402
from app.main import resources_dir  # noqa: E402
from app.ui.chat_pane import ChatPane  # noqa: E402
from app.ui.history_sidebar import HistorySidebar, connect_sidebar  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.theme import apply_theme, set_dark_on_views  # noqa: E402
from app.workers.generation import GenerationService  # noqa: E402

SCRIPTED = """Here is a small Python function that reads a file safely:

```python
from pathlib import Path

def read_text(path: str) -> str:
    \"\"\"Return the file's text, or an empty string if it is missing.\"\"\"
    p = Path(path)
    return p.read_text(encoding="utf-8") if p.is_file() else ""
```

| Option | Meaning |
|---|---|
| `encoding` | how bytes become text |
| `errors` | what to do with bad bytes |

1. Use **pathlib** for paths.
2. Always pass an `encoding`.
"""


REASONING = (
    'The user wants to read a text file in Python "without crashing". Likely failure modes: '
    "the file is missing, it is a directory, or the bytes are not valid in the expected "
    "encoding.\n\n"
    "Plan:\n"
    "- use `pathlib.Path` and check `is_file()` first;\n"
    '- always pass `encoding="utf-8"`; mention `errors="replace"` for bad bytes;\n'
    "- a small table of the two options, then two short rules.\n\n"
    "Keep it short and show code first.\n"
)

SCRIPTED_RID = 10_000


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(signal: object, timeout_ms: int = 30_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--model", type=Path, default=ROOT / "tests/fixtures/models/tiny-llama")
    ap.add_argument("--gptoss", type=Path, default=ROOT / "tests/fixtures/models/tiny-gptoss",
                    help="a gpt-oss model folder (harmony) for the thinking shots")
    ap.add_argument("--history-only", action="store_true",
                    help="take only the history shots (07-09)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv)
    if args.history_only:
        service = GenerationService()
        shoot_history(app, service, args.model, args.out)
        service.shutdown()
        return 0
    app.setStyleSheet((resources_dir() / "style.qss").read_text(encoding="utf-8"))
    service = GenerationService()
    win = MainWindow(service)
    win.resize(1000, 760)
    win.show()
    wait(200)
    win.grab().save(str(args.out / "01-first-run.png"))

    win.provider_combo.setCurrentIndex(win.provider_combo.findData("cpu"))
    win.load_model(str(args.model))
    wait_for(service.model_loaded)
    chat = win.chat
    chat.options = GenerationOptions(max_new_tokens=40, temperature=0.0)
    chat.input.setPlainText("Hello! Who are you?")
    chat.send_or_stop()
    wait_for(service.finished)
    wait(200)
    win.grab().save(str(args.out / "02-tiny-model-reply.png"))

    # A scripted reply through the same widget path as streamed text, in small pieces.
    chat.new_chat()
    chat.input.setPlainText("How do I read a text file in Python without crashing?")
    user = chat._add_widget("user")
    user.set_text(chat.input.toPlainText())
    user.chat_message = ChatMessage("user", chat.input.toPlainText())
    chat.input.clear()
    reply = chat._add_widget("assistant", args.model.name)
    for i in range(0, len(SCRIPTED), 6):
        reply.append(SCRIPTED[i:i + 6])
        app.processEvents()
    reply.finish("212 tokens · 38.5 tok/s · first token 140 ms")
    reply.chat_message = ChatMessage("assistant", SCRIPTED)
    chat._update_regenerate()
    wait(300)
    win.grab().save(str(args.out / "03-markdown-reply.png"))

    shoot_thinking(app, win, service, args.gptoss, args.out)
    win.close()
    shoot_history(app, service, args.model, args.out)
    service.shutdown()
    return 0


def shoot_thinking(app: QApplication, win: MainWindow, service: GenerationService,
                   model: Path, out: Path) -> None:
    """A gpt-oss-like reply: thinking, then the answer, through the chat pane's real slots.

    The real tiny gpt-oss is loaded (so the window shows what it shows for gpt-oss, the effort
    control included), but it writes noise: the reply itself is scripted.
    """
    win.load_model(str(model))
    wait_for(service.model_loaded)
    chat = win.chat
    chat.new_chat()
    chat.effort_combo.setCurrentIndex(chat.effort_combo.findData("high"))
    # The request goes through the pane's send path, but nothing is generated for it.
    service.send = lambda _messages, _options: SCRIPTED_RID  # type: ignore[method-assign]
    chat.input.setPlainText("How do I read a text file in Python without crashing?")
    chat.send_or_stop()
    tokens = 0
    shot_taken = False
    for word in re.findall(r"\S+\s*", REASONING):
        tokens += 1
        chat._on_service_text_generated(SCRIPTED_RID, word, tokens, True)
        app.processEvents()
        # Mid-thinking, at the end of a line (a half-streamed `code` span looks like a glitch).
        if not shot_taken and tokens > 40 and word.endswith("\n"):
            wait(200)
            win.grab().save(str(out / "04-thinking-streaming.png"))
            shot_taken = True
    for i in range(0, len(SCRIPTED), 6):
        tokens += 1
        chat._on_service_text_generated(SCRIPTED_RID, SCRIPTED[i:i + 6], tokens, False)
        app.processEvents()
    result = GenerationResult(
        text=SCRIPTED, token_ids=tuple(range(tokens)), finish_reason=FinishReason.STOP,
        provider="cuda", prompt_tokens=96, cached_tokens=0, generated_tokens=tokens,
        ttft_ms=95.0, tok_s=212.4, reasoning=REASONING, reasoning_ms=3240.0)
    chat._on_service_finished(SCRIPTED_RID, result)
    del service.send  # back to the class's method
    wait(300)
    win.grab().save(str(out / "05-thinking-finished.png"))
    chat.message_widgets[-1].thinking.set_expanded(True)
    wait(300)
    win.grab().save(str(out / "06-thinking-expanded.png"))


DAY = 86_400.0
HISTORY = [
    # (days ago, pinned, question, answer)
    (12, True, "Trip plan: four days in Kyoto in autumn",
     "Day 1: Higashiyama on foot, from Kiyomizu-dera to Gion. Day 2: Arashiyama early, before "
     "the crowds..."),
    (0, False, "東京で雨の週末におすすめの過ごし方は？",  # noqa: RUF001
     "雨の日なら、美術館めぐりがおすすめです。上野の国立西洋美術館や、六本木の森美術館は駅から"
     "近く、濡れずに行けます。"),
    (1, False, "Explain the KV cache in two paragraphs",
     "When a model generates text, each new token attends to every token before it..."),
    (1, False, "メールの返信を丁寧に書き直してください",
     "承知いたしました。以下のように書き直してはいかがでしょうか。"),
    (3, False, "SQL: find duplicate rows by email",
     "Group by the column and keep the groups with more than one row..."),
    (5, False, "A birthday message for my sister",
     "Happy birthday! Another year of adventures, bad puns and late-night phone calls..."),
    (18, False, "Compare ONNX Runtime execution providers",
     "CPU works everywhere; CUDA needs an NVIDIA GPU and its drivers; DirectML runs on any "
     "DirectX 12 GPU on Windows..."),
    (24, False, "家計簿アプリのデータ設計を考えて",
     "取引、口座、カテゴリの三つの表から始めるのが簡単です。"),
    (70, False, "Notes from the reading group: Middlemarch",
     "Dorothea's idealism meets Casaubon's dry scholarship..."),
]
OPEN_QUESTION = "How do I read a text file in Python without crashing?"


def fill_history(store: Store, model_name: str) -> int:
    """Conversations spread over the sidebar's date groups; returns the one to open."""
    now = time.time()
    settings = ConversationSettings(system_prompt="", temperature=0.7)
    for days, pinned, question, answer in HISTORY:
        store.clock = lambda days=days: now - days * DAY - 600
        conv = store.create_conversation(model_name=model_name, settings=settings,
                                         first_message=question)
        reply = store.begin_reply(conv.id, model_name=model_name)
        store.finish_reply(reply, scripted_result(answer, "", tokens=48))
        if pinned:
            store.set_pinned(conv.id, True)
    store.clock = time.time
    conv = store.create_conversation(model_name=model_name, settings=settings,
                                     first_message=OPEN_QUESTION)
    first = store.begin_reply(conv.id, model_name=model_name)
    store.finish_reply(first, scripted_result(
        "Use `open()` inside `try`/`except OSError` and pass an encoding.", "", tokens=20))
    question = store.path(conv.id)[0]
    second = store.begin_reply(conv.id, question.id, model_name=model_name)
    store.finish_reply(second, scripted_result(SCRIPTED, REASONING, tokens=212))
    return conv.id


def scripted_result(text: str, reasoning: str, tokens: int) -> GenerationResult:
    return GenerationResult(
        text=text, token_ids=tuple(range(tokens)), finish_reason=FinishReason.STOP,
        provider="cuda", prompt_tokens=96, cached_tokens=0, generated_tokens=tokens,
        ttft_ms=95.0, tok_s=212.4, reasoning=reasoning, reasoning_ms=3240.0 if reasoning else 0)


def shoot_history(app: QApplication, service: GenerationService, model: Path,
                  out: Path) -> None:
    """The history sidebar beside the chat pane, as the window will put them."""
    apply_theme(app, resources_dir(), dark=False)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "conversations.sqlite3")
        open_id = fill_history(store, "gpt-oss-20b")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setWindowTitle("Hearth")
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        sidebar = HistorySidebar(store)
        chat = ChatPane(service, store)
        connect_sidebar(sidebar, chat)
        splitter.addWidget(sidebar)
        splitter.addWidget(chat)
        splitter.setStretchFactor(1, 1)
        splitter.resize(1100, 740)
        splitter.setSizes([272, 828])
        splitter.show()
        if service.model is None:
            service.load_model(str(model), "cpu")
            wait_for(service.model_loaded)
        sidebar.conversation_selected.emit(open_id)  # as a click on its row does
        sidebar.set_current_conversation(open_id)
        wait(400)
        splitter.grab().save(str(out / "07-history.png"))

        sidebar.search_box.setText("東京")
        sidebar.refresh()
        wait(300)
        splitter.grab().save(str(out / "08-history-search.png"))

        sidebar.search_box.clear()
        sidebar.refresh()
        apply_theme(app, resources_dir(), dark=True)
        set_dark_on_views(splitter, True)
        wait(300)
        splitter.grab().save(str(out / "09-history-dark.png"))
        apply_theme(app, resources_dir(), dark=False)
        splitter.close()
        store.close()


if __name__ == "__main__":
    raise SystemExit(main())
