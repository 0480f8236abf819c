"""Screenshots of the main window for review and the README.

    python tools/screenshot_window.py OUT_DIR [--model DIR]

Takes: the first-run state; a conversation with the real model (the tiny test models write
noise); a scripted Markdown reply streamed through the same chat pane path, which shows what a
real model's answer looks like; and, with the tiny gpt-oss loaded, a scripted gpt-oss-like reply
(thinking first, then the answer) fed through the chat pane's own slots: mid-thinking, finished
(thinking folded away) and with the thinking reopened. Runs offscreen unless DISPLAY is set
(e.g. under Xvfb).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.chat import (  # noqa: E402
    ChatMessage,
    FinishReason,
    GenerationOptions,
    GenerationResult,
)
from app.main import resources_dir  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
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
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv)
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
    user = chat._add_widget("user", "You")
    user.set_text(chat.input.toPlainText())
    chat.input.clear()
    reply = chat._add_widget("assistant", args.model.name)
    for i in range(0, len(SCRIPTED), 6):
        reply.append(SCRIPTED[i:i + 6])
        app.processEvents()
    reply.finish("212 tokens · 38.5 tok/s · first token 140 ms")
    chat._messages += [ChatMessage("user", "q"), ChatMessage("assistant", SCRIPTED)]
    chat._update_regenerate()
    wait(300)
    win.grab().save(str(args.out / "03-markdown-reply.png"))

    shoot_thinking(app, win, service, args.gptoss, args.out)
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


if __name__ == "__main__":
    raise SystemExit(main())
