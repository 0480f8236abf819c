"""Japanese and English: the translation files are complete and current, and the window
switches language while running without losing what the user was doing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import PySide6
import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.paths import AppPaths
from app.core.settings import SettingsStore
from app.main import _SettingsApplier, resources_dir, translations_dir
from app.ui.i18n import PROVIDER_LABELS, LanguageManager, choice_text, resolve_language
from app.ui.main_window import MainWindow
from app.ui.settings_pane import SettingsPane
from app.ui.theme import ThemeManager
from app.workers.generation import GenerationService

ROOT = Path(__file__).resolve().parents[2]
TS = translations_dir() / "hearth_ja.ts"
QM = translations_dir() / "hearth_ja.qm"
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%L?\d+|%n")


def messages() -> list[tuple[str, str, ET.Element]]:
    """(context, source, translation element) for every message in hearth_ja.ts."""
    root = ET.parse(TS).getroot()
    assert root.get("language", "").startswith("ja")
    found = []
    for context in root.iter("context"):
        name = context.findtext("name", "")
        for message in context.iter("message"):
            translation = message.find("translation")
            assert translation is not None
            found.append((name, message.findtext("source", ""), translation))
    return found


def qt_tool(name: str) -> Path:
    """A Qt Linguist tool shipped in the PySide6 wheel."""
    tool = Path(PySide6.__file__).parent / (f"{name}.exe" if os.name == "nt" else name)
    if not tool.is_file():
        found = shutil.which(f"pyside6-{name}")
        if found is None:
            pytest.skip(f"{name} is not installed")
        tool = Path(found)
    return tool


# -- the files ----------------------------------------------------------------------------------

def test_every_message_is_translated() -> None:
    found = messages()
    assert len(found) > 150
    untranslated = [(ctx, src) for ctx, src, tr in found
                    if tr.get("type") in ("unfinished", "obsolete", "vanished")
                    or not (tr.text or "").strip()]
    assert untranslated == []


def test_translations_keep_their_placeholders() -> None:
    for context, source, translation in messages():
        text = translation.text or ""
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), (
            context, source, text)
        # A copy of the English would mean a missed entry (short labels such as "CPU" and
        # "Top-p" are the same in Japanese).
        if len(source) > 12:
            assert text != source, (context, source)


def test_the_qm_is_compiled_from_the_current_ts(tmp_path: Path) -> None:
    out = tmp_path / "hearth_ja.qm"
    subprocess.run([str(qt_tool("lrelease")), str(TS), "-qm", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == QM.read_bytes(), (
        "hearth_ja.qm is stale: run pyside6-lrelease (see app/ui/i18n.py)")


def test_every_ui_string_is_in_the_ts(tmp_path: Path) -> None:
    ts = tmp_path / "current.ts"
    sources = [str(p) for p in sorted((ROOT / "app" / "ui").glob("*.py"))]
    subprocess.run([str(qt_tool("lupdate")), *sources, "-locations", "none", "-ts", str(ts)],
                   check=True, capture_output=True)
    wanted = {(c.findtext("name", ""), m.findtext("source", ""))
              for c in ET.parse(ts).getroot().iter("context")
              for m in c.iter("message")}
    have = {(ctx, src) for ctx, src, _ in messages()}
    assert wanted - have == set(), "run pyside6-lupdate and translate (see app/ui/i18n.py)"


# -- resolving and installing ---------------------------------------------------------------

@pytest.mark.parametrize(("setting", "system", "expected"), [
    ("en", "ja_JP", "en"),
    ("ja", "en_US", "ja"),
    ("system", "ja_JP", "ja"),
    ("system", "en_GB", "en"),
    ("system", "de_DE", "en"),
])
def test_the_language_setting_resolves(setting: str, system: str, expected: str) -> None:
    assert resolve_language(setting, QLocale(system)) == expected


@pytest.fixture
def languages(qapp: QApplication) -> Iterator[LanguageManager]:
    manager = LanguageManager(translations_dir())
    font = qapp.font()
    yield manager
    manager.apply("en")
    qapp.setFont(font)


def test_japanese_translates_hearth_and_qt_strings(languages: LanguageManager) -> None:
    assert languages.apply("ja") == "ja"
    assert choice_text(PROVIDER_LABELS["auto"]) == "自動（GPU を優先）"  # noqa: RUF001
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "キャンセル"
    assert languages.apply("en") == "en"
    assert choice_text(PROVIDER_LABELS["auto"]) == "Auto (GPU if available)"
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"


def test_a_missing_translation_falls_back_to_english(tmp_path: Path) -> None:
    manager = LanguageManager(tmp_path)
    assert manager.apply("ja") == "en"
    assert manager.language == "en"
    assert QCoreApplication.translate("SettingsPane", "Apply") == "Apply"


# -- the window ---------------------------------------------------------------------------------

@pytest.fixture
def build(qtbot: QtBot, app_paths: AppPaths, languages: LanguageManager,
          qapp: QApplication) -> Iterator[object]:
    """Build the window as app.main does, after the given language is installed."""
    services: list[GenerationService] = []
    sheet, palette = qapp.styleSheet(), qapp.palette()

    def make(language: str) -> tuple[MainWindow, SettingsPane]:
        store = SettingsStore(app_paths)
        settings, warnings = store.load()
        languages.apply(language)
        theme = ThemeManager(qapp, resources_dir())
        service = GenerationService()
        services.append(service)
        pane = SettingsPane(store, settings, data_dir=app_paths.data, warnings=warnings)
        win = MainWindow(service, pane)
        qtbot.addWidget(win)
        applier = _SettingsApplier(theme, languages, win, settings)
        pane.settings_applied.connect(applier._on_settings_pane_settings_applied)
        win.show()
        return win, pane

    yield make
    for service in services:
        service.shutdown()
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)


def english_texts(win: MainWindow, pane: SettingsPane) -> None:
    assert win.chat_nav_button.text() == "Chat"
    assert win.settings_nav_button is not None
    assert win.settings_nav_button.text() == "Settings"
    assert win.open_button.text() == "Open model folder..."
    assert win.model_label.text() == "No model"
    assert win.provider_combo.itemText(0) == "Auto (GPU if available)"
    assert pane.section_titles["appearance"].text() == "Appearance"
    assert pane.section_titles["privacy"].text() == "Privacy"
    assert pane.apply_button.text() == "Apply"
    assert pane.theme_combo.itemText(pane.theme_combo.findData("system")) == "Follow the system"
    assert "no telemetry" in pane.privacy_statement.text()


def japanese_texts(win: MainWindow, pane: SettingsPane) -> None:
    assert win.chat_nav_button.text() == "チャット"
    assert win.settings_nav_button is not None
    assert win.settings_nav_button.text() == "設定"
    assert win.open_button.text() == "モデルフォルダーを開く..."
    assert win.model_label.text() == "モデルなし"
    assert win.provider_combo.itemText(0) == "自動（GPU を優先）"  # noqa: RUF001
    assert pane.section_titles["appearance"].text() == "外観"
    assert pane.section_titles["privacy"].text() == "プライバシー"
    assert pane.apply_button.text() == "適用"
    assert pane.theme_combo.itemText(pane.theme_combo.findData("system")) == "システムに合わせる"
    assert "テレメトリー" in pane.privacy_statement.text()
    # Language names stay in their own language.
    assert pane.language_combo.itemText(pane.language_combo.findData("en")) == "English"


def test_a_window_opened_in_japanese_is_japanese_throughout(build: object) -> None:
    win, pane = build("ja")  # type: ignore[operator]
    japanese_texts(win, pane)
    # The chat pane's own strings (set once at start-up).
    assert win.chat.send_button.text() == "送信"
    assert win.chat.new_chat_button.text() == "新しいチャット"
    assert win.chat.status.text() == "モデルが読み込まれていません"
    assert win.chat.open_model_button.text() == "モデルフォルダーを開く..."
    assert win.chat.effort_combo.itemText(0) == "低"


def test_switching_language_in_settings_retranslates_live(qtbot: QtBot, build: object,
                                                          app_paths: AppPaths) -> None:
    win, pane = build("en")  # type: ignore[operator]
    english_texts(win, pane)
    assert win.chat.send_button.text() == "Send"
    win.show_settings()
    pane.model_path_edit.setText("/models/phi")  # a draft the switch must not lose
    pane.font_size_spin.setValue(12)
    pane.language_combo.setCurrentIndex(pane.language_combo.findData("ja"))
    # Apply saves the whole draft; then the language changes in place.
    assert pane.apply()
    qtbot.waitUntil(lambda: win.chat_nav_button.text() == "チャット")
    japanese_texts(win, pane)
    assert pane.message_label.text() == "設定を保存しました。"
    assert win.pages.currentWidget() is pane
    assert pane.model_path_edit.text() == "/models/phi"
    assert pane.font_size_spin.value() == 12
    assert pane.font_size_spin.suffix() == " pt"
    assert pane.context_cap_spin.suffix() == " トークン"
    assert SettingsStore(app_paths).load()[0].appearance.language == "ja"

    pane.language_combo.setCurrentIndex(pane.language_combo.findData("en"))
    pane.top_k_spin.setValue(12)
    assert pane.message_label.text() == "まだ適用していない変更があります。"
    assert pane.apply()
    qtbot.waitUntil(lambda: win.chat_nav_button.text() == "Chat")
    english_texts(win, pane)
    assert pane.top_k_spin.value() == 12


def test_the_settings_notice_is_translated(qtbot: QtBot, build: object,
                                           languages: LanguageManager) -> None:
    win, _pane = build("en")  # type: ignore[operator]
    win.show_settings_notice()
    notice = win.findChild(type(win.model_label), "noticeBanner")
    assert notice is not None
    assert "Some settings could not be read" in notice.text()
    languages.apply("ja")
    qtbot.waitUntil(lambda: "一部の設定" in notice.text())
    win.show_settings()
    assert notice.isHidden()
