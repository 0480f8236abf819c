"""The settings pane with real settings files: edit a draft, apply once, presets, the data
folder move, the token in a (memory) keyring, and the theme applied live to the window."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.chat import CancelToken
from app.core.paths import AppPaths
from app.core.secrets import SERVICE, USERNAME
from app.core.settings import (
    DataCopy,
    Settings,
    SettingsStore,
    copy_data_dir,
    describe_settings,
    save_preset,
    update,
)
from app.main import (
    _SettingsApplier,
    data_dir_overridden,
    resources_dir,
    run_gui,
    translations_dir,
)
from app.ui import settings_pane as settings_pane_module
from app.ui.i18n import LanguageManager
from app.ui.main_window import MainWindow
from app.ui.markdown_view import StreamingMarkdownView
from app.ui.settings_pane import SettingsPane
from app.ui.theme import BASE_FONT_SIZE, ThemeManager, stylesheet
from app.workers.generation import GenerationService
from tests.conftest import TINY_LLAMA
from tests.memory_keyring import MemoryKeyring

TOKEN = "hf_PaneSecretToken0123456789abcdef"


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # what headless Linux gives
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def store(app_paths: AppPaths) -> SettingsStore:
    return SettingsStore(app_paths)


@pytest.fixture
def make_pane(qtbot: QtBot, store: SettingsStore,
              app_paths: AppPaths) -> Iterator[Callable[..., SettingsPane]]:
    panes: list[SettingsPane] = []

    def make(settings: Settings | None = None, **kwargs: object) -> SettingsPane:
        loaded, warnings = store.load()
        kwargs.setdefault("data_dir", app_paths.data)
        kwargs.setdefault("warnings", warnings)
        pane = SettingsPane(store, settings or loaded, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(pane)
        panes.append(pane)
        return pane

    yield make
    for pane in panes:
        pane.shutdown()


@pytest.fixture
def pane(make_pane: Callable[..., SettingsPane]) -> SettingsPane:
    return make_pane()


@pytest.fixture
def app_look(qapp: QApplication) -> Iterator[QApplication]:
    """Put the application's palette, stylesheet, font and style back after a test."""
    palette, sheet, font = QPalette(qapp.palette()), qapp.styleSheet(), qapp.font()
    style = qapp.style().name()
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setFont(font)


def saved(store: SettingsStore) -> dict[str, object]:
    return json.loads(store.path.read_text(encoding="utf-8"))


# -- the draft and Apply -----------------------------------------------------------------------

def test_controls_show_the_settings_with_the_schema_ranges(
        make_pane: Callable[..., SettingsPane]) -> None:
    settings = update(Settings(), {
        "appearance.theme": "dark", "appearance.font_size": 14, "appearance.language": "ja",
        "model.provider": "cpu", "model.context_cap": 4096,
        "generation.system_prompt": "Be brief.", "generation.temperature": 0.3,
        "generation.top_p": 0.9, "generation.top_k": 20, "generation.max_new_tokens": 300,
        "generation.reasoning_effort": "high", "privacy.offline_mode": True})
    pane = make_pane(settings)
    assert pane.theme_combo.currentData() == "dark"
    assert pane.font_size_spin.value() == 14
    assert pane.language_combo.currentData() == "ja"
    assert pane.provider_combo.currentData() == "cpu"
    assert pane.context_cap_spin.value() == 4096
    assert pane.system_prompt_edit.toPlainText() == "Be brief."
    assert pane.temperature_spin.value() == pytest.approx(0.3)
    assert pane.top_p_spin.value() == pytest.approx(0.9)
    assert pane.top_k_spin.value() == 20
    assert pane.max_tokens_spin.value() == 300
    assert pane.effort_combo.currentData() == "high"
    assert pane.offline_check.isChecked()
    assert not pane.is_modified()
    assert not pane.apply_button.isEnabled()

    info = {i.key: i for i in describe_settings()}
    for key, spin in (("appearance.font_size", pane.font_size_spin),
                      ("model.context_cap", pane.context_cap_spin),
                      ("generation.top_k", pane.top_k_spin),
                      ("generation.max_new_tokens", pane.max_tokens_spin),
                      ("generation.temperature", pane.temperature_spin),
                      ("generation.top_p", pane.top_p_spin)):
        assert (spin.minimum(), spin.maximum()) == (info[key].spec.minimum,
                                                    info[key].spec.maximum), key
    for key, combo in (("appearance.theme", pane.theme_combo),
                       ("appearance.language", pane.language_combo),
                       ("model.provider", pane.provider_combo),
                       ("generation.reasoning_effort", pane.effort_combo)):
        assert tuple(combo.itemData(i) for i in range(combo.count())) == info[key].choices
        assert all(combo.itemText(i) for i in range(combo.count()))
    assert pane.language_combo.itemText(pane.language_combo.findData("ja")) == "日本語"
    for control in (pane.theme_combo, pane.font_size_spin, pane.model_path_edit,
                    pane.temperature_spin, pane.token_edit, pane.apply_button,
                    pane.move_data_button, pane.offline_check):
        assert control.accessibleName(), control


def test_edits_stay_a_draft_until_apply_saves_once(
        qtbot: QtBot, pane: SettingsPane, store: SettingsStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    saves: list[Settings] = []
    real_save = store.save
    monkeypatch.setattr(store, "save", lambda s: (saves.append(s), real_save(s))[1])
    pane.theme_combo.setCurrentIndex(pane.theme_combo.findData("dark"))
    pane.temperature_spin.setValue(1.25)
    pane.system_prompt_edit.setPlainText("Answer in haiku.")
    pane.provider_combo.setCurrentIndex(pane.provider_combo.findData("cuda"))
    assert pane.is_modified()
    assert pane.apply_button.isEnabled()
    assert pane.revert_button.isEnabled()
    assert "unapplied" in pane.message_label.text()
    assert not store.path.exists()  # nothing written while editing
    assert pane.applied_settings == Settings()

    with qtbot.waitSignal(pane.settings_applied) as blocker:
        qtbot.mouseClick(pane.apply_button, Qt.MouseButton.LeftButton)
    new = blocker.args[0]
    assert isinstance(new, Settings)
    assert new.appearance.theme == "dark"
    assert new.generation.temperature == pytest.approx(1.25)
    assert new.generation.system_prompt == "Answer in haiku."
    assert new.model.provider == "cuda"
    assert len(saves) == 1
    assert SettingsStore(store.paths).load() == (new, [])
    assert saved(store)["appearance"]["theme"] == "dark"  # type: ignore[index]
    assert not pane.is_modified()
    assert not pane.apply_button.isEnabled()
    assert pane.message_label.text() == "Settings saved."
    # Applying again without changes writes nothing.
    assert pane.apply()
    assert len(saves) == 1


def test_revert_discards_the_draft(pane: SettingsPane, store: SettingsStore) -> None:
    pane.font_size_spin.setValue(20)
    pane.model_path_edit.setText("relative/folder")
    pane.revert()
    assert pane.font_size_spin.value() == BASE_FONT_SIZE
    assert pane.model_path_edit.text() == ""
    assert not pane.is_modified()
    assert not pane.revert_button.isEnabled()
    assert not store.path.exists()


def test_invalid_values_are_explained_inline_and_nothing_is_saved(
        qtbot: QtBot, pane: SettingsPane, store: SettingsStore) -> None:
    pane.model_path_edit.setText("models/phi")
    with qtbot.assertNotEmitted(pane.settings_applied):
        assert not pane.apply()
    text = pane.message_label.text()
    assert text.startswith("Model at start:")  # the label, not the dotted key
    assert "full path" in text
    assert pane.message_label.property("error") is True
    assert not store.path.exists()
    pane.system_prompt_edit.setPlainText("x" * 20001)
    pane.model_path_edit.setText("")
    assert not pane.apply()
    assert "20000" in pane.message_label.text()


def test_a_failed_save_is_shown_and_the_settings_still_apply(
        qtbot: QtBot, pane: SettingsPane, store: SettingsStore) -> None:
    store.paths.config.parent.mkdir(parents=True, exist_ok=True)
    store.paths.config.write_text("a file where the folder should be")
    pane.font_size_spin.setValue(13)
    with qtbot.waitSignal(pane.settings_applied) as blocker:
        assert pane.apply()
    assert blocker.args[0].appearance.font_size == 13
    assert pane.message_label.property("error") is True
    assert "could not be saved" in pane.message_label.text()
    assert pane.apply_button.isEnabled()  # so the user can try again once fixed


def test_load_warnings_show_in_a_banner(make_pane: Callable[..., SettingsPane],
                                        store: SettingsStore) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text('{"schema_version": 2, "appearance": {"font_size": 400}}')
    pane = make_pane()
    assert not pane.warning_banner.isHidden()
    assert "appearance.font_size" in pane.warning_banner.text()
    assert pane.font_size_spin.value() == BASE_FONT_SIZE
    pane.set_warnings([])
    assert pane.warning_banner.isHidden()


# -- presets --------------------------------------------------------------------------------

def test_presets_are_saved_used_and_deleted_through_apply(
        pane: SettingsPane, store: SettingsStore) -> None:
    assert not pane.preset_use_button.isEnabled()
    pane.temperature_spin.setValue(0.2)
    pane.top_k_spin.setValue(5)
    pane.preset_name_edit.setText("Precise")
    pane.preset_save_button.click()
    assert pane.preset_combo.currentText() == "Precise"
    assert pane.preset_name_edit.text() == ""
    assert not store.path.exists()
    assert pane.apply()
    assert [p.name for p in saved_settings(store).presets] == ["Precise"]
    assert saved_settings(store).presets[0].generation.top_k == 5

    pane.temperature_spin.setValue(1.5)
    pane.top_k_spin.setValue(100)
    pane.preset_use_button.click()
    assert pane.temperature_spin.value() == pytest.approx(0.2)
    assert pane.top_k_spin.value() == 5
    assert "Precise" in pane.message_label.text()

    pane.preset_delete_button.click()
    assert pane.preset_combo.count() == 0
    assert not pane.preset_use_button.isEnabled()
    assert pane.apply()
    assert saved_settings(store).presets == ()


def test_a_preset_name_in_use_is_replaced(make_pane: Callable[..., SettingsPane]) -> None:
    pane = make_pane(save_preset(Settings(), "Creative"))
    pane.temperature_spin.setValue(1.3)
    pane.preset_name_edit.setText("creative")  # names compare without case
    pane.preset_save_button.click()
    assert pane.preset_combo.count() == 1
    assert pane.draft().presets[0].generation.temperature == pytest.approx(1.3)


def saved_settings(store: SettingsStore) -> Settings:
    settings, warnings = SettingsStore(store.paths).load()
    assert warnings == []
    return settings


# -- the data folder --------------------------------------------------------------------------

def fill_data(folder: Path) -> None:
    (folder / "models" / "tiny").mkdir(parents=True, exist_ok=True)
    (folder / "models" / "tiny" / "model.bin").write_bytes(b"\x01" * 3_000_000)
    (folder / "conversations.db").write_bytes(b"SQLite format 3\x00" + b"x" * 1000)


def test_moving_the_data_folder_copies_verifies_and_records_it(
        qtbot: QtBot, pane: SettingsPane, store: SettingsStore, tmp_path: Path) -> None:
    fill_data(store.paths.data)
    target = tmp_path / "new place" / "Hearth データ"
    with qtbot.waitSignal(pane.data_dir_moved, timeout=30_000) as moved:
        assert pane.start_data_move(str(target))
        assert not pane.move_data_button.isEnabled()
        assert not pane.move_cancel_button.isHidden()
        assert not pane.move_progress.isHidden()
    assert moved.args == [str(target)]
    assert (target / "models" / "tiny" / "model.bin").read_bytes() == b"\x01" * 3_000_000
    assert (store.paths.data / "conversations.db").exists()  # the old folder is left alone
    assert saved_settings(store).data.data_dir == str(target)
    assert pane.applied_settings.data.data_dir == str(target)
    assert str(target) in pane.data_note.text()
    assert "next start" in pane.data_note.text()
    assert pane.move_data_button.isEnabled()
    assert pane.move_progress.isHidden()


def test_moving_can_be_cancelled(qtbot: QtBot, pane: SettingsPane, store: SettingsStore,
                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fill_data(store.paths.data)
    started = threading.Event()

    def held_copy(src: Path, dst: str, progress: Callable[[int, int], None],
                  cancel: CancelToken) -> DataCopy:
        started.set()
        deadline = time.monotonic() + 10
        while not cancel.cancelled and time.monotonic() < deadline:
            time.sleep(0.005)
        return copy_data_dir(src, dst, progress, cancel)

    monkeypatch.setattr(settings_pane_module, "copy_data_dir", held_copy)
    target = tmp_path / "elsewhere"
    with qtbot.assertNotEmitted(pane.data_dir_moved), \
            qtbot.assertNotEmitted(pane.settings_applied):
        assert pane.start_data_move(str(target))
        assert not pane.start_data_move(str(tmp_path / "second"))  # one move at a time
        assert started.wait(10)
        pane.cancel_data_move()
        qtbot.waitUntil(lambda: pane.move_data_button.isEnabled(), timeout=10_000)
    assert "cancelled" in pane.data_note.text()
    assert not target.exists()
    assert not store.path.exists()


def test_a_failed_move_says_why(qtbot: QtBot, pane: SettingsPane, store: SettingsStore,
                                tmp_path: Path) -> None:
    fill_data(store.paths.data)
    target = tmp_path / "busy"
    target.mkdir()
    (target / "something.txt").write_text("keep me")
    assert pane.start_data_move(str(target))
    qtbot.waitUntil(lambda: pane.move_data_button.isEnabled(), timeout=10_000)
    assert "not empty" in pane.data_note.text()
    assert pane.data_note.property("error") is True
    assert (target / "something.txt").read_text() == "keep me"


def test_moving_is_off_while_an_override_chose_the_folder(
        make_pane: Callable[..., SettingsPane], app_paths: AppPaths) -> None:
    # The test fixture's HEARTH_DATA_DIR is exactly such an override.
    assert data_dir_overridden(app_paths)
    pane = make_pane(data_dir_locked=True)
    assert not pane.move_data_button.isEnabled()
    assert "HEARTH_DATA_DIR" in pane.data_note.text()
    assert not pane.start_data_move("/anywhere")
    assert str(app_paths.data) in pane.data_dir_label.text()


# -- the Hugging Face token -----------------------------------------------------------------

def test_the_token_goes_to_the_keyring_only(
        pane: SettingsPane, store: SettingsStore, memory_keyring: MemoryKeyring,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    caplog.set_level(logging.DEBUG)
    pane.refresh_token_state()
    assert pane.token_edit.isEnabled()
    assert pane.token_edit.echoMode() == pane.token_edit.EchoMode.Password
    assert "No token is saved" in pane.token_status.text()
    assert not pane.token_save_button.isEnabled()  # nothing typed
    assert not pane.token_remove_button.isEnabled()

    pane.token_edit.setText(TOKEN)
    assert pane.token_save_button.isEnabled()
    pane.token_save_button.click()
    assert memory_keyring.items == {(SERVICE, USERNAME): TOKEN}
    assert pane.token_edit.text() == ""
    assert "saved" in pane.token_status.text()
    assert pane.token_remove_button.isEnabled()
    pane.font_size_spin.setValue(12)
    assert pane.apply()
    assert TOKEN not in store.path.read_text(encoding="utf-8")
    assert TOKEN not in caplog.text

    pane.token_remove_button.click()
    assert memory_keyring.items == {}
    assert "removed" in pane.token_status.text()
    assert not pane.token_remove_button.isEnabled()


def test_a_malformed_token_is_refused_without_quoting_it(
        pane: SettingsPane, memory_keyring: MemoryKeyring) -> None:
    pane.refresh_token_state()
    pane.token_edit.setText("hf_abc def")
    pane.token_save_button.click()
    assert memory_keyring.items == {}
    assert pane.token_status.property("error") is True
    assert "abc" not in pane.token_status.text()


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keyring_saving_is_off_and_says_why(pane: SettingsPane) -> None:
    pane.refresh_token_state()
    assert not pane.token_edit.isEnabled()
    assert not pane.token_save_button.isEnabled()
    assert "No system keyring" in pane.token_status.text()
    assert "HF_TOKEN" in pane.token_status.text()


def test_the_keyring_is_asked_only_when_the_pane_is_shown(
        qtbot: QtBot, pane: SettingsPane, memory_keyring: MemoryKeyring) -> None:
    assert pane.token_status.text() == ""
    pane.show()
    qtbot.waitExposed(pane)
    assert "No token is saved" in pane.token_status.text()


# -- the theme, applied to the window live ------------------------------------------------------

def test_stylesheets_style_the_same_names_and_scale_fonts() -> None:
    names = {}
    for dark in (False, True):
        text = stylesheet(resources_dir(), dark)
        # Object names in selectors (not the colours inside the rules).
        names[dark] = set(re.findall(r"#([A-Za-z]\w*)(?=[^{}]*\{)", text))
        assert "font-size: 14px" in text
        assert "font-size: 28px" in stylesheet(resources_dir(), dark, BASE_FONT_SIZE * 2)
    assert names[False] == names[True]


@pytest.fixture
def window(qtbot: QtBot, store: SettingsStore, app_paths: AppPaths,
           app_look: QApplication) -> Iterator[tuple[MainWindow, SettingsPane, ThemeManager]]:
    settings, _ = store.load()
    theme = ThemeManager(app_look, resources_dir())
    theme.apply(settings.appearance.theme, settings.appearance.font_size)
    language = LanguageManager(translations_dir())
    service = GenerationService()
    pane = SettingsPane(store, settings, data_dir=app_paths.data, data_dir_locked=True)
    win = MainWindow(service, pane)
    qtbot.addWidget(win)
    win.apply_settings(settings)
    theme.theme_changed.connect(win.set_dark)
    applier = _SettingsApplier(theme, language, win, settings)
    pane.settings_applied.connect(applier._on_settings_pane_settings_applied)
    win.show()
    yield win, pane, theme
    language.apply("en")
    service.shutdown()


def test_applying_a_theme_switches_the_window_live_keeping_its_state(
        qtbot: QtBot, window: tuple[MainWindow, SettingsPane, ThemeManager]) -> None:
    win, pane, theme = window
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    win.chat.input.setEnabled(True)
    win.chat.input.setPlainText("half-typed question")
    view = StreamingMarkdownView(win.chat)
    view.set_markdown("```python\nprint('hi')\n```")
    win.show_settings()
    pane.theme_combo.setCurrentIndex(pane.theme_combo.findData("dark"))
    pane.font_size_spin.setValue(15)
    with qtbot.waitSignal(theme.theme_changed) as changed:
        assert pane.apply()
    assert changed.args == [True]
    assert theme.is_dark
    assert view.is_dark()
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 60
    assert "#1c1917" in app.styleSheet()
    assert app.font().pointSize() == 15
    assert win.chat.input.toPlainText() == "half-typed question"
    assert win.pages.currentWidget() is pane  # still where the user was

    pane.theme_combo.setCurrentIndex(pane.theme_combo.findData("light"))
    assert pane.apply()
    assert not theme.is_dark
    assert not view.is_dark()
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200


def test_applied_generation_defaults_and_provider_reach_the_chat(
        window: tuple[MainWindow, SettingsPane, ThemeManager]) -> None:
    win, pane, _theme = window
    pane.temperature_spin.setValue(0.25)
    pane.max_tokens_spin.setValue(77)
    pane.system_prompt_edit.setPlainText("You are terse.")
    pane.effort_combo.setCurrentIndex(pane.effort_combo.findData("low"))
    pane.provider_combo.setCurrentIndex(pane.provider_combo.findData("cpu"))
    assert pane.apply()
    assert win.chat.options.temperature == pytest.approx(0.25)
    assert win.chat.options.max_new_tokens == 77
    assert win.chat._conversation()[0].content == "You are terse."
    assert win.chat.reasoning_effort == "low"
    assert win.provider == "cpu"
    # The header's provider is the user's for this session until the setting changes again.
    win.provider_combo.setCurrentIndex(win.provider_combo.findData("cuda"))
    pane.top_k_spin.setValue(7)
    assert pane.apply()
    assert win.provider == "cuda"


def test_new_message_widgets_get_the_dark_colours(
        window: tuple[MainWindow, SettingsPane, ThemeManager]) -> None:
    win, pane, _theme = window
    pane.theme_combo.setCurrentIndex(pane.theme_combo.findData("dark"))
    assert pane.apply()
    widget = win.chat._add_widget("assistant", "tiny")
    assert widget.body.is_dark()
    assert widget.thinking.view.is_dark()


def test_ctrl_comma_opens_the_settings(
        qtbot: QtBot, window: tuple[MainWindow, SettingsPane, ThemeManager]) -> None:
    win, pane, _theme = window
    qtbot.keyClick(win, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert win.pages.currentWidget() is pane
    assert win.settings_nav_button is not None
    assert win.settings_nav_button.isChecked()
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert win.pages.currentWidget() is win.chat
    assert win.chat_nav_button.isChecked()
    win.settings_nav_button.click()
    assert win.pages.currentWidget() is pane


# -- start-up (the composition root) -----------------------------------------------------------

def test_run_gui_starts_with_the_saved_settings(
        qtbot: QtBot, app_paths: AppPaths, app_look: QApplication,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # run_gui installs these hooks; put them back afterwards.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    store = SettingsStore(app_paths)
    store.save(update(Settings(), {
        "appearance.theme": "dark", "appearance.language": "ja", "appearance.font_size": 13,
        "model.default_model": str(TINY_LLAMA), "model.provider": "cpu",
        "model.context_cap": 1024, "generation.temperature": 0.1,
        "generation.system_prompt": "Be kind."}))
    seen: dict[str, object] = {}
    deadline = time.monotonic() + 30
    real_load = GenerationService.load_model

    def load_model(self: GenerationService, path: str, provider: str = "auto",
                   context_cap: int | None = None, name: str | None = None) -> bool:
        seen["load"] = (path, provider, context_cap)
        return real_load(self, path, provider, context_cap, name)

    monkeypatch.setattr(GenerationService, "load_model", load_model)

    def inspect() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        if not windows or (windows[0].chat._service.model is None
                           and time.monotonic() < deadline):
            QTimer.singleShot(50, inspect)
            return
        win = windows[0]
        model = win.chat._service.model
        seen.update(
            model=model.name if model else None,
            provider=win.provider, temperature=win.chat.options.temperature,
            system=win.chat._conversation()[0].content, send=win.chat.send_button.text(),
            settings_nav=win.settings_nav_button.text() if win.settings_nav_button else "",
            dark=app_look.palette().color(QPalette.ColorRole.Window).lightness() < 60,
            font=app_look.font().pointSize(), locked=not win.settings.move_data_button.isEnabled()
            if win.settings else None)
        win.close()
        loop.quit()

    # The real app.exec() leaves Qt's application shutting down, which later tests would feel;
    # a local event loop runs the window just the same.
    loop = QEventLoop()

    def exec_() -> int:
        QTimer.singleShot(0, inspect)
        loop.exec()
        return 0

    monkeypatch.setattr(app_look, "exec", exec_)
    try:
        assert run_gui(app_paths) == 0
    finally:
        for manager in app_look.findChildren(LanguageManager):
            manager.apply("en")
            manager.setParent(None)
        for theme in app_look.findChildren(ThemeManager):
            theme.setParent(None)
    assert seen == {
        "load": (str(TINY_LLAMA), "cpu", 1024),
        "model": "tiny-llama", "provider": "cpu", "temperature": 0.1,
        "system": "Be kind.", "send": "送信", "settings_nav": "設定", "dark": True, "font": 13,
        "locked": True}
