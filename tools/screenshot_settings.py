"""Screenshots of the settings pane and of the window in Japanese, for review and the README.

    python tools/screenshot_settings.py OUT_DIR

Builds the window the way `app.main.run_gui` does (settings store, language, theme, settings
pane), with all data in a temporary folder, and saves:

- settings-en.png: the settings pane in English (light);
- settings-ja.png: the same, switched to Japanese while running;
- settings-dark.png: the same in the dark theme;
- chat-ja.png: the chat in Japanese with the tiny gpt-oss loaded and a scripted reply (thinking,
  then the answer) fed through the chat pane's own slots, since the tiny model writes noise;
- chat-ja-dark.png: that conversation in the dark theme.

Runs offscreen unless DISPLAY is set (e.g. under Xvfb, with a CJK font such as
fonts-ipafont-gothic installed: without one the Japanese shows as boxes).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from PySide6.QtWidgets import QApplication, QComboBox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.chat import FinishReason, GenerationResult  # noqa: E402
from app.core.paths import AppPaths  # noqa: E402
from app.core.settings import Settings, SettingsStore, save_preset, update  # noqa: E402
from app.main import _SettingsApplier, resources_dir, translations_dir  # noqa: E402
from app.ui.i18n import LanguageManager  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.settings_pane import SettingsPane  # noqa: E402
from app.ui.theme import ThemeManager  # noqa: E402
from app.workers.generation import GenerationService  # noqa: E402
from tools.screenshot_window import wait, wait_for  # noqa: E402

GPTOSS = ROOT / "tests/fixtures/models/tiny-gptoss"
SCRIPTED_RID = 10_000

QUESTION = "Pythonでテキストファイルを安全に読み込むには？"  # noqa: RUF001
REASONING = (
    "ユーザーはファイルを読むときに落ちない方法を知りたい。考えられる失敗は、ファイルがない、"
    "フォルダーである、文字コードが違う、の三つ。\n\n"
    "`pathlib.Path` で存在を確かめ、`encoding` を必ず指定する、と短く答える。\n")
ANSWER = """`pathlib` を使うと、次のように安全に読み込めます。

```python
from pathlib import Path

def read_text(path: str) -> str:
    p = Path(path)
    return p.read_text(encoding="utf-8") if p.is_file() else ""
```

| 引数 | 意味 |
|---|---|
| `encoding` | バイト列を文字にする方法 |
| `errors` | 不正なバイトの扱い |

1. パスには **pathlib** を使う。
2. `encoding` を必ず指定する。
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hearth-shots-") as tmp:
        return shoot(args.out.resolve(), AppPaths.from_env(Path(tmp) / "data").ensure())


def build(app: QApplication, store: SettingsStore, paths: AppPaths, settings: Settings,
          language: LanguageManager, theme: ThemeManager) -> tuple[MainWindow, SettingsPane]:
    """The window and its settings pane, wired as `app.main.run_gui` wires them."""
    service = GenerationService()
    pane = SettingsPane(store, settings, data_dir=paths.data, data_dir_locked=False)
    win = MainWindow(service, pane)
    win.apply_settings(settings)
    win.set_dark(theme.is_dark)
    theme.theme_changed.connect(win.set_dark)
    applier = _SettingsApplier(theme, language, win, settings)
    pane.settings_applied.connect(applier._on_settings_pane_settings_applied)
    return win, pane


def choose(pane: SettingsPane, combo: QComboBox, value: str) -> None:
    combo.setCurrentIndex(combo.findData(value))
    pane.apply()
    wait(400)


def shoot(out: Path, paths: AppPaths) -> int:
    app = QApplication(sys.argv)
    store = SettingsStore(paths)
    settings, _warnings = store.load()
    # A saved preset and a system prompt, so those controls show what they hold.
    settings = update(settings, {"generation.system_prompt": "Answer briefly and kindly.",
                                 "appearance.theme": "light", "appearance.language": "en"})
    settings = save_preset(settings, "Precise")
    store.save(settings)
    language = LanguageManager(translations_dir(), parent=app)
    language.apply("en")
    theme = ThemeManager(app, resources_dir(), parent=app)
    theme.apply("light", settings.appearance.font_size)

    win, pane = build(app, store, paths, settings, language, theme)
    # Tall enough for the whole pane, without scrolling.
    win.resize(1100, 1540)
    win.show()
    win.show_settings()
    wait(400)
    win.grab().save(str(out / "settings-en.png"))
    # Switched while running: the pane and the window re-translate in place.
    choose(pane, pane.language_combo, "ja")
    win.grab().save(str(out / "settings-ja.png"))
    choose(pane, pane.theme_combo, "dark")
    win.grab().save(str(out / "settings-dark.png"))
    choose(pane, pane.theme_combo, "light")
    settings = pane.applied_settings
    win.close()
    win.chat._service.shutdown()

    # A window opened in Japanese, as a Japanese user starts Hearth.
    win, pane = build(app, store, paths, settings, language, theme)
    win.resize(1100, 820)
    win.show()
    service = win.chat._service
    shoot_chat(app, win, service)
    win.grab().save(str(out / "chat-ja.png"))
    choose(pane, pane.theme_combo, "dark")
    win.grab().save(str(out / "chat-ja-dark.png"))
    win.close()
    service.shutdown()
    return 0


def shoot_chat(app: QApplication, win: MainWindow, service: GenerationService) -> None:
    """A gpt-oss-like reply in Japanese: the real tiny gpt-oss loaded, the reply scripted."""
    win.show_chat()
    win.provider_combo.setCurrentIndex(win.provider_combo.findData("cpu"))
    win.load_model(str(GPTOSS))
    wait_for(service.model_loaded)
    chat = win.chat
    chat.effort_combo.setCurrentIndex(chat.effort_combo.findData("high"))
    service.send = lambda _messages, _options: SCRIPTED_RID  # type: ignore[method-assign]
    chat.input.setPlainText(QUESTION)
    chat.send_or_stop()
    tokens = 0
    for piece in re.findall(r".{1,4}", REASONING, flags=re.DOTALL):
        tokens += 1
        chat._on_service_text_generated(SCRIPTED_RID, piece, tokens, True)
        app.processEvents()
    for i in range(0, len(ANSWER), 6):
        tokens += 1
        chat._on_service_text_generated(SCRIPTED_RID, ANSWER[i:i + 6], tokens, False)
        app.processEvents()
    result = GenerationResult(
        text=ANSWER, token_ids=tuple(range(tokens)), finish_reason=FinishReason.STOP,
        provider="cuda", prompt_tokens=96, cached_tokens=0, generated_tokens=tokens,
        ttft_ms=95.0, tok_s=212.4, reasoning=REASONING, reasoning_ms=2840.0)
    chat._on_service_finished(SCRIPTED_RID, result)
    del service.send
    chat.input.setPlainText("表にまとめてください。")
    wait(400)


if __name__ == "__main__":
    raise SystemExit(main())
