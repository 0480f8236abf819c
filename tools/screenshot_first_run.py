"""From first launch to chatting without the command line, as screenshots.

    xvfb-run -a -s "-screen 0 1280x900x24" .venv/bin/python tools/screenshot_first_run.py \\
        [OUT_DIR] [--extra]

Builds the real window the way `app.main.run_gui` does (`build_window`), with a fresh data
folder, the tiny test catalog ($HEARTH_CATALOG, plus the shipped catalog's document-search
model) and a real Hugging Face hub on loopback (`tests.hub_server`, throttled so the download
takes a few seconds), then clicks through what a new user does and saves:

1. first-run-1-start.png: the window as it opens: the Models pane, checking this PC;
2. first-run-2-models.png: the recommendation and every catalog model's fit;
3. first-run-3-download.png: the download in progress, with speed and time left;
4. first-run-4-loaded.png: the model installed and loaded, with the load's outcome;
5. first-run-5-chat.png: the chat with the tiny model's (noisy) reply.

`--extra` also saves the Models pane in Japanese (first-run-ja.png) and in the dark theme
(first-run-dark.png), for review. Runs offscreen unless DISPLAY is set (e.g. under Xvfb; a CJK
font such as fonts-ipafont-gothic is needed for the Japanese one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QWidget

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.chat import GenerationOptions  # noqa: E402
from app.core.paths import AppPaths  # noqa: E402
from app.core.settings import SettingsStore, update  # noqa: E402
from app.main import build_window, open_start_model, resources_dir, translations_dir  # noqa: E402
from app.ui.i18n import LanguageManager  # noqa: E402
from app.ui.theme import ThemeManager  # noqa: E402
from tests.hub_server import HubServer  # noqa: E402

TINY_CATALOG = ROOT / "tests/fixtures/catalog-tiny.json"
SHIPPED_CATALOG = ROOT / "models/catalog.json"
THROTTLE_BPS = 90_000
"""Slow enough that the half-megabyte download shows its progress for several seconds."""


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


def make_catalog(folder: Path) -> Path:
    """The tiny catalog with the shipped document-search model added (shown, not fetched)."""
    data = json.loads(TINY_CATALOG.read_text(encoding="utf-8"))
    data["embedders"] = json.loads(SHIPPED_CATALOG.read_text(encoding="utf-8"))["embedders"]
    path = folder / "catalog.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def scroll_to(pane: QWidget, widget: QWidget) -> None:
    area = pane.scroll_area  # type: ignore[attr-defined]
    area.verticalScrollBar().setValue(widget.mapTo(area.widget(), widget.rect().topLeft()).y()
                                      - 12)
    wait(150)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path, nargs="?", default=ROOT / "resources/screenshots")
    ap.add_argument("--extra", action="store_true",
                    help="also the Models pane in Japanese and in the dark theme")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hearth-first-run-") as tmp, HubServer() as hub:
        os.environ["HEARTH_CATALOG"] = str(make_catalog(Path(tmp)))
        os.environ["HF_ENDPOINT"] = hub.url
        hub.throttle_bps = THROTTLE_BPS
        paths = AppPaths.from_env(Path(tmp) / "data").ensure()
        return shoot(args.out.resolve(), paths, extra=args.extra)


def shoot(out: Path, paths: AppPaths, *, extra: bool) -> int:
    app = QApplication(sys.argv)
    store = SettingsStore(paths)
    settings, warnings = store.load()
    settings = update(settings, {"appearance.theme": "light", "appearance.language": "en",
                                 "model.provider": "cpu"})
    store.save(settings)
    language = LanguageManager(translations_dir(), parent=app)
    language.apply("en")
    theme = ThemeManager(app, resources_dir(), parent=app)
    theme.apply("light", settings.appearance.font_size)
    hearth = build_window(paths, store, settings, warnings, theme, language)
    win, pane, manager = hearth.window, hearth.models_pane, hearth.models
    win.resize(1240, 860)
    win.show()
    open_start_model(win, settings, None)  # nothing to load: the Models pane
    wait(100)
    win.grab().save(str(out / "first-run-1-start.png"))

    wait_until(lambda: manager.hardware is not None and pane.recommended_row is not None,
               "the hardware check")
    wait(300)
    scroll_to(pane, pane.sections["available"])
    win.grab().save(str(out / "first-run-2-models.png"))

    recommended = pane.recommended_row
    assert recommended is not None
    scroll_to(pane, pane.sections["recommended"])
    recommended.action_button.click()
    wait_until(lambda: any(d.done_bytes > d.total_bytes * 0.35 and d.bytes_per_s > 0
                           for d in manager.downloads()), "the download to get going")
    win.grab().save(str(out / "first-run-3-download.png"))

    wait_until(lambda: not manager.downloads() and bool(manager.models), "the download")
    wait(200)
    recommended.action_button.click()  # now "Use"
    wait_until(lambda: hearth.service.model is not None, "the model to load")
    wait(400)
    scroll_to(pane, pane.sections["installed"])
    win.grab().save(str(out / "first-run-4-loaded.png"))

    pane.chat_button.click()  # "Go to chat"
    chat = win.chat
    chat.options = GenerationOptions(max_new_tokens=48, temperature=0.0)
    chat.input.setPlainText("Hello! What can you do?")
    chat.send_or_stop()
    wait_until(lambda: hearth.service.current_request_id is None
               and not hearth.service.busy, "the reply")
    wait(400)
    win.grab().save(str(out / "first-run-5-chat.png"))

    if extra:
        win.show_models()
        pane.scroll_area.verticalScrollBar().setValue(0)
        language.apply("ja")
        wait(400)
        win.grab().save(str(out / "first-run-ja.png"))
        language.apply("en")
        theme.apply("dark", settings.appearance.font_size)
        wait(400)
        win.grab().save(str(out / "first-run-dark.png"))
        scroll_to(pane, pane.sections["available"])
        win.grab().save(str(out / "first-run-dark-2.png"))
    win.close()
    hearth.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
