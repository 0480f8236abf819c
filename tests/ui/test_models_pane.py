"""The models pane in the real window, offscreen: the tiny catalog ($HEARTH_CATALOG), a real hub
on loopback ($HF_ENDPOINT), a real library, the real GenerationService and the tiny models.
Clicks go through the pane's own buttons; the only stand-in is the answer to the removal
question (QMessageBox.question)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.core.catalog import parse_catalog
from app.core.chat import CancelToken, GenerationOptions
from app.core.downloads import (
    DownloadProgress,
    DownloadStopped,
    download_model,
    partial_bytes,
    partial_dir,
    plan_download,
)
from app.core.hardware import Gpu, Hardware
from app.core.library import ModelLibrary
from app.core.paths import AppPaths
from app.core.settings import Settings, SettingsStore, update
from app.main import Hearth, build_window, open_start_model, resources_dir, translations_dir
from app.ui.i18n import LanguageManager
from app.ui.main_window import MainWindow
from app.ui.models_pane import ModelManagerPane
from app.ui.theme import ThemeManager
from app.workers.models import PENDING_FILE, DownloadInfo, ModelManager, PendingDownloads
from tests.conftest import FIXTURES, TINY_LLAMA
from tests.hub_server import LLAMA_REPO, LLAMA_SUBFOLDER, HubRepo, HubServer, default_repos
from tests.memory_keyring import MemoryKeyring

TINY_CATALOG = FIXTURES / "catalog-tiny.json"
GATED_REPO = "hearth-test/gated-llama-onnx"
WAIT_MS = 30_000


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    repos = [*default_repos(),
             HubRepo.build(GATED_REPO, {LLAMA_SUBFOLDER: TINY_LLAMA}, gated=True)]
    with HubServer(repos) as server:
        monkeypatch.setenv("HEARTH_CATALOG", str(TINY_CATALOG))
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield server


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@dataclass
class App:
    hearth: Hearth
    store: SettingsStore
    language: LanguageManager

    @property
    def window(self) -> MainWindow:
        return self.hearth.window

    @property
    def pane(self) -> ModelManagerPane:
        return self.hearth.models_pane

    @property
    def manager(self) -> ModelManager:
        return self.hearth.models


@pytest.fixture
def make_app(qtbot: QtBot, qapp: QApplication, app_paths: AppPaths,
             hub: HubServer) -> Iterator[Callable[..., App]]:
    """Build the window as app.main.run_gui does, with settings from `changes`."""
    apps: list[App] = []
    sheet, palette, font = qapp.styleSheet(), qapp.palette(), qapp.font()

    def make(**changes: object) -> App:
        store = SettingsStore(app_paths.ensure())
        settings, warnings = store.load()
        settings = update(settings, {"model.provider": "cpu", **changes})
        store.save(settings)
        language = LanguageManager(translations_dir())
        theme = ThemeManager(qapp, resources_dir())
        hearth = build_window(app_paths, store, settings, warnings, theme, language)
        qtbot.addWidget(hearth.window)
        hearth.window.show()
        open_start_model(hearth.window, settings, None)
        app = App(hearth, store, language)
        apps.append(app)
        qtbot.waitUntil(lambda: hearth.models.hardware is not None, timeout=WAIT_MS)
        return app

    yield make
    for app in apps:
        app.language.apply("en")
        app.hearth.shutdown()
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)


def saved_settings(app: App) -> Settings:
    return app.store.load()[0]


# -- first launch -------------------------------------------------------------------------------

def test_first_launch_opens_the_models_pane_with_a_recommendation(
        make_app: Callable[..., App]) -> None:
    app = make_app()
    pane, window = app.pane, app.window
    assert window.pages.currentWidget() is pane
    assert window.models_nav_button is not None
    assert window.models_nav_button.isChecked()
    assert "GB" in pane.pc_values["memory"].text()
    assert "models folder" in pane.pc_values["disk"].text()
    assert "CPU" in pane.pc_values["runtime"].text()
    card = pane.recommended_row
    assert card is not None
    assert card.entry.id == "tiny-gptoss"
    assert card.badge.verdict == "cpu"
    assert card.badge.text() == "Runs on CPU (slow)"
    assert card.action_button.text() == "Download"
    assert card.action_button.isEnabled()
    assert "cpu_and_mobile/cpu-int4" in card.detail_label.text()
    assert card.detail_label.toolTip().startswith("Runs on the CPU")
    assert [r.badge.verdict for r in pane.catalog_rows.values()] == ["cpu", "cpu"]
    assert pane.installed_empty.isVisible()
    assert not pane.sections["downloads"].isVisible()
    # The chat's empty state leads here too.
    window.show_chat()
    assert window.chat.open_model_button.text() == "Get a model..."
    window.chat.open_model_button.click()
    assert window.pages.currentWidget() is pane


def test_a_pc_too_small_gets_does_not_fit(qtbot: QtBot, app_paths: AppPaths,
                                          hub: HubServer) -> None:
    small = Hardware("Test 1", ram_total_bytes=8_000_000, ram_available_bytes=4_000_000,
                     disk_free_bytes=10**9)
    manager = ModelManager(ModelLibrary(app_paths), hardware_probe=lambda _folder: small)
    pane = ModelManagerPane(manager)
    qtbot.addWidget(pane)
    qtbot.waitUntil(lambda: manager.hardware is not None, timeout=WAIT_MS)
    row = pane.catalog_rows["tiny-llama"]
    assert row.badge.verdict == "no"
    assert row.badge.text() == "Does not fit"
    assert not row.action_button.isEnabled()
    assert "Needs 50.0 MB of free memory; 4.0 MB is free." in row.detail_label.text()
    assert pane.recommended_row is None
    assert "None of the catalog's models fits" in pane.recommended_note.text()
    assert pane.pc_values["graphics"].text().startswith("No graphics card")
    manager.shutdown()


# -- from download to chat ----------------------------------------------------------------------

def test_download_use_and_chat(qtbot: QtBot, make_app: Callable[..., App],
                               app_paths: AppPaths) -> None:
    app = make_app()
    pane, manager, window = app.pane, app.manager, app.window
    card = pane.recommended_row
    assert card is not None
    with qtbot.waitSignal(manager.download_finished, timeout=WAIT_MS) as finished:
        card.action_button.click()
        assert pane.sections["downloads"].isVisible()
        assert len(pane.download_rows) == 1
        assert card.action_button.text() == "Downloading…"
        assert not card.action_button.isEnabled()
    model = finished.args[1]
    assert (model.path / "genai_config.json").is_file()
    assert model.path.parent == app_paths.models
    qtbot.waitUntil(lambda: model.id in pane.installed_rows, timeout=WAIT_MS)
    assert not pane.sections["downloads"].isVisible()
    assert "ready" in pane.message_label.text()
    assert card.action_button.text() == "Use"

    with qtbot.waitSignal(app.hearth.service.model_loaded, timeout=WAIT_MS) as loaded:
        card.action_button.click()
        assert not pane.load_busy.isHidden()
        assert "Loading tiny gpt-oss" in pane.load_label.text()
    status = loaded.args[0]
    assert status.memory_bytes is not None
    # Named as in the library, not by its folder.
    assert status.name == model.name
    assert window.model_label.text().startswith(model.name)
    row = pane.installed_rows[model.id]
    assert pane.load_busy.isHidden()
    assert "is loaded on CPU" in pane.load_label.text()
    assert "of memory" in pane.load_label.text()
    assert row.loaded_tag.isVisible()
    assert row.use_button.text() == "Unload"
    assert card.action_button.text() == "In use"
    qtbot.waitUntil(lambda: ModelLibrary(app_paths).get(model.id).last_used_at is not None,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "used just now" in row.meta_label.text(), timeout=WAIT_MS)

    pane.chat_button.click()
    assert window.pages.currentWidget() is window.chat_page
    chat = window.chat
    chat.options = GenerationOptions(max_new_tokens=16, temperature=0.0)
    chat.input.setPlainText("Hello there")
    with qtbot.waitSignal(app.hearth.service.finished, timeout=WAIT_MS) as replied:
        qtbot.keyClick(chat.input, Qt.Key.Key_Return)
    result = replied.args[1]
    assert result.generated_tokens > 0
    assert [w.role for w in chat.message_widgets] == ["user", "assistant"]

    # Unload frees it; the header and the pane follow.
    window.show_models()
    row.use_button.click()
    qtbot.waitUntil(lambda: app.hearth.service.model is None, timeout=WAIT_MS)
    assert window.model_label.text() == "No model"
    assert not row.loaded_tag.isVisible()
    assert row.use_button.text() == "Use"
    assert not chat.input.isEnabled()


def test_pause_and_resume_from_the_download_row(qtbot: QtBot, make_app: Callable[..., App],
                                                hub: HubServer) -> None:
    app = make_app()
    hub.throttle_bps = 150_000
    pane, manager = app.pane, app.manager
    pane.catalog_rows["tiny-llama"].action_button.click()
    [row] = pane.download_rows.values()
    qtbot.waitUntil(lambda: row.info.done_bytes > 100_000, timeout=WAIT_MS)
    assert row.pause_button.text() == "Pause"
    assert "KB/s" in row.status_label.text()
    assert "left" in row.status_label.text()
    assert 0 < row.progress.value() < row.progress.maximum()
    with qtbot.waitSignal(manager.download_paused, timeout=WAIT_MS):
        row.pause_button.click()
    assert row.status_label.text().startswith("Paused at")
    assert row.pause_button.text() == "Resume"
    assert row.cancel_button.text() == "Discard"
    assert pane.catalog_rows["tiny-llama"].action_button.text() == "Resume"
    served = sum(hub.bytes_served.values())
    assert partial_bytes(row.info.dest) > 100_000
    hub.throttle_bps = None
    with qtbot.waitSignal(manager.download_finished, timeout=WAIT_MS):
        row.pause_button.click()
    # Only what was missing came down the second time.
    assert sum(hub.bytes_served.values()) - served < row.info.total_bytes


def test_cancel_leaves_nothing(qtbot: QtBot, make_app: Callable[..., App], hub: HubServer,
                               app_paths: AppPaths) -> None:
    app = make_app()
    hub.throttle_bps = 100_000
    pane = app.pane
    pane.catalog_rows["tiny-llama"].action_button.click()
    [row] = pane.download_rows.values()
    qtbot.waitUntil(lambda: row.info.done_bytes > 30_000, timeout=WAIT_MS)
    dest = row.info.dest
    with qtbot.waitSignal(app.manager.download_cancelled, timeout=WAIT_MS):
        row.cancel_button.click()
    assert pane.download_rows == {}
    assert not pane.sections["downloads"].isVisible()
    assert not dest.exists()
    assert not partial_dir(dest).exists()
    assert not (app_paths.models / PENDING_FILE).exists()
    assert [p.name for p in app_paths.models.iterdir()] == []
    assert pane.catalog_rows["tiny-llama"].action_button.text() == "Download"


def test_a_download_left_by_a_previous_run_shows_as_resumable(
        qtbot: QtBot, make_app: Callable[..., App], hub: HubServer,
        app_paths: AppPaths) -> None:
    # The previous run: a download recorded, some bytes staged, then the app died.
    plan = plan_download(LLAMA_REPO, LLAMA_SUBFOLDER, endpoint=hub.url)
    dest = app_paths.models / "tiny-llama-cpu-fp32"
    PendingDownloads(app_paths.models).put(DownloadInfo(
        key=dest.name, kind="model", name="tiny Llama (test) (CPU)", repo=LLAMA_REPO,
        subfolder=LLAMA_SUBFOLDER, dest=dest, state="downloading", catalog_id="tiny-llama",
        total_bytes=plan.total_bytes))
    cancel = CancelToken()
    hub.throttle_bps = 500_000  # progress comes every 0.1 s: slow enough to stop midway

    def die_midway(p: DownloadProgress) -> None:
        if p.done_bytes > 200_000:
            cancel.cancel()

    with pytest.raises(DownloadStopped):
        download_model(plan, dest, endpoint=hub.url, progress=die_midway, cancel=cancel)
    staged = partial_bytes(dest)
    hub.throttle_bps = None

    app = make_app()
    pane = app.pane
    qtbot.waitUntil(lambda: bool(pane.download_rows), timeout=WAIT_MS)
    [row] = pane.download_rows.values()
    assert pane.sections["downloads"].isVisible()
    assert row.name_label.text() == "tiny Llama (test) (CPU)"
    assert row.info.done_bytes == staged
    assert row.status_label.text().startswith("Paused at")
    assert row.pause_button.text() == "Resume"
    assert row.pause_button.isEnabled()
    assert row.cancel_button.text() == "Discard"
    assert row.progress.value() > 0
    with qtbot.waitSignal(app.manager.download_finished, timeout=WAIT_MS) as finished:
        row.pause_button.click()
    assert finished.args[1].catalog_id == "tiny-llama"


# -- errors the user can act on -----------------------------------------------------------------

def test_a_gated_repo_points_to_the_token_in_settings(qtbot: QtBot,
                                                      make_app: Callable[..., App]) -> None:
    app = make_app()
    pane = app.pane
    pane.repo_edit.setText(GATED_REPO)
    pane.subfolder_edit.setText(LLAMA_SUBFOLDER)
    with qtbot.waitSignal(app.manager.download_failed, timeout=WAIT_MS):
        pane.repo_download_button.click()
    [row] = pane.download_rows.values()
    text = row.status_label.text()
    assert "token" in text
    assert "Settings" in text
    assert row.status_label.property("error") is True
    assert row.settings_button.isVisible()
    row.settings_button.click()
    assert app.window.pages.currentWidget() is app.window.settings


def test_a_repo_id_that_is_not_one_is_refused_before_asking(
        make_app: Callable[..., App], hub: HubServer) -> None:
    app = make_app()
    connections = hub.connections
    app.pane.repo_edit.setText("just-a-name")
    app.pane.repo_download_button.click()
    assert "owner/name" in app.pane.search_note.text()
    assert app.pane.download_rows == {}
    assert hub.connections == connections


def test_offline_mode_disables_downloads_and_connects_nowhere(
        qtbot: QtBot, make_app: Callable[..., App], hub: HubServer) -> None:
    app = make_app(**{"privacy.offline_mode": True})
    pane = app.pane
    assert pane.offline_banner.isVisible()
    assert "Offline mode is on" in pane.offline_banner.text()
    card = pane.recommended_row
    assert card is not None
    for button in (card.action_button, *(r.action_button for r in pane.catalog_rows.values()),
                   pane.repo_download_button, pane.search_button):
        assert not button.isEnabled()
        assert "Offline mode is on" in button.toolTip()
    qtbot.mouseClick(card.action_button, Qt.MouseButton.LeftButton)
    pane.search_edit.setText("tiny")
    pane.search_edit.returnPressed.emit()
    assert pane.download_rows == {}
    assert hub.connections == 0
    # Turned off in Settings: the buttons come back at once.
    settings = app.hearth.settings_pane
    settings.offline_check.setChecked(False)
    assert settings.apply()
    assert not pane.offline_banner.isVisible()
    assert card.action_button.isEnabled()
    assert hub.connections == 0


def test_search_fills_in_the_repository(qtbot: QtBot, make_app: Callable[..., App]) -> None:
    app = make_app()
    pane = app.pane
    pane.search_edit.setText("llama")
    with qtbot.waitSignal(app.manager.search_finished, timeout=WAIT_MS):
        pane.search_button.click()
    assert pane.search_results.isVisible()
    item = pane.search_results.item(0)
    assert LLAMA_REPO in item.text()
    pane.search_results.itemClicked.emit(item)
    assert pane.repo_edit.text() == LLAMA_REPO
    assert pane.subfolder_edit.text() == LLAMA_SUBFOLDER


def test_importing_a_folder_with_a_missing_file_says_which(
        qtbot: QtBot, make_app: Callable[..., App], tmp_path: Path) -> None:
    app = make_app()
    broken = tmp_path / "broken-model"
    shutil.copytree(TINY_LLAMA, broken)
    (broken / "tokenizer.json").unlink()
    with qtbot.waitSignal(app.manager.import_failed, timeout=WAIT_MS):
        assert app.pane.import_folder(str(broken))
    note = app.pane.import_note
    assert note.isVisible()
    assert "tokenizer.json is missing" in note.text()
    assert note.property("error") is True
    assert app.pane.import_button.isEnabled()
    assert app.pane.installed_rows == {}


def test_a_corrupt_model_fails_to_load_with_a_message_and_the_app_goes_on(
        qtbot: QtBot, make_app: Callable[..., App], tmp_path: Path) -> None:
    app = make_app()
    damaged = tmp_path / "damaged"
    shutil.copytree(TINY_LLAMA, damaged)
    with qtbot.waitSignal(app.manager.import_finished, timeout=WAIT_MS) as imported:
        app.pane.import_folder(str(damaged), link=True)
    model = imported.args[0]
    (damaged / "model.onnx").write_bytes(b"this is not a protobuf")
    qtbot.waitUntil(lambda: model.id in app.pane.installed_rows, timeout=WAIT_MS)
    row = app.pane.installed_rows[model.id]
    with qtbot.waitSignal(app.hearth.service.model_load_failed, timeout=WAIT_MS):
        row.use_button.click()
    label = app.pane.load_label
    assert "could not be loaded" in label.text()
    assert label.property("error") is True
    assert not app.pane.chat_button.isVisible()
    assert row.use_button.isEnabled()  # the app stays usable: try again, or another model
    assert app.hearth.service.model is None


def test_a_provider_that_is_not_installed_says_so(qtbot: QtBot,
                                                  make_app: Callable[..., App]) -> None:
    app = make_app()
    with qtbot.waitSignal(app.manager.import_finished, timeout=WAIT_MS) as imported:
        app.pane.import_folder(str(TINY_LLAMA))
    model = imported.args[0]
    qtbot.waitUntil(lambda: model.id in app.pane.installed_rows, timeout=WAIT_MS)
    window = app.window
    window.provider_combo.setCurrentIndex(window.provider_combo.findData("cuda"))
    with qtbot.waitSignal(app.hearth.service.model_load_failed, timeout=WAIT_MS) as failed:
        app.pane.installed_rows[model.id].use_button.click()
    assert "CUDA" in failed.args[0]
    assert failed.args[0] in app.pane.load_label.text()
    # Back to the CPU, the same model loads.
    window.provider_combo.setCurrentIndex(window.provider_combo.findData("cpu"))
    with qtbot.waitSignal(app.hearth.service.model_loaded, timeout=WAIT_MS):
        app.pane.installed_rows[model.id].use_button.click()
    assert "is loaded on CPU" in app.pane.load_label.text()


def test_removing_asks_first_and_frees_the_folder(qtbot: QtBot, make_app: Callable[..., App],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    with qtbot.waitSignal(app.manager.import_finished, timeout=WAIT_MS) as imported:
        app.pane.import_folder(str(TINY_LLAMA))
    model = imported.args[0]
    qtbot.waitUntil(lambda: model.id in app.pane.installed_rows, timeout=WAIT_MS)
    row = app.pane.installed_rows[model.id]
    asked: list[str] = []

    def answer(reply: QMessageBox.StandardButton) -> Callable[..., QMessageBox.StandardButton]:
        def question(_parent: object, _title: str, text: str,
                     *_args: object) -> QMessageBox.StandardButton:
            asked.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    row.remove_action.trigger()
    assert len(asked) == 1
    assert "is deleted" in asked[0]
    assert "freed" in asked[0]
    assert model.path.is_dir()

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(app.manager.model_removed, timeout=WAIT_MS):
        row.remove_action.trigger()
    assert not model.path.exists()
    qtbot.waitUntil(lambda: model.id not in app.pane.installed_rows, timeout=WAIT_MS)
    assert "freed" in app.pane.message_label.text()
    assert app.pane.installed_empty.isVisible()


def test_a_model_whose_folder_is_gone_shows_as_missing(
        qtbot: QtBot, make_app: Callable[..., App], tmp_path: Path) -> None:
    app = make_app()
    stick = tmp_path / "usb-stick" / "tiny"
    shutil.copytree(TINY_LLAMA, stick)
    with qtbot.waitSignal(app.manager.import_finished, timeout=WAIT_MS) as imported:
        app.pane.import_folder(str(stick), link=True)
    model = imported.args[0]
    shutil.rmtree(stick.parent)
    with qtbot.waitSignal(app.manager.library_changed, timeout=WAIT_MS):
        app.manager.refresh()
    row = app.pane.installed_rows[model.id]
    assert row.missing_tag.isVisible()
    assert "missing" in row.meta_label.text()
    assert not row.use_button.isEnabled()
    assert not row.default_button.isEnabled()
    assert not row.open_action.isEnabled()
    assert row.remove_action.text() == "Remove from list…"


def test_set_as_default_saves_the_setting_and_the_settings_pane_follows(
        qtbot: QtBot, make_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    with qtbot.waitSignal(app.manager.import_finished, timeout=WAIT_MS) as imported:
        app.pane.import_folder(str(TINY_LLAMA))
    model = imported.args[0]
    qtbot.waitUntil(lambda: model.id in app.pane.installed_rows, timeout=WAIT_MS)
    row = app.pane.installed_rows[model.id]
    assert not row.default_tag.isVisible()
    row.default_button.click()
    assert saved_settings(app).model.default_model == str(model.path)
    assert app.hearth.settings_pane.model_path_edit.text() == str(model.path)
    assert not app.hearth.settings_pane.is_modified()
    assert row.default_tag.isVisible()
    assert not row.default_button.isEnabled()

    # With another edit pending in Settings, only the default is saved.
    settings_pane = app.hearth.settings_pane
    settings_pane.top_k_spin.setValue(7)
    app.pane.set_default_model("")
    app.pane.default_requested.emit(str(model.path))
    assert saved_settings(app).model.default_model == str(model.path)
    assert saved_settings(app).generation.top_k != 7
    assert settings_pane.is_modified()

    # Removing the default model clears the setting.
    settings_pane.revert()
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *_args: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(app.manager.model_removed, timeout=WAIT_MS):
        row.remove_action.trigger()
    assert saved_settings(app).model.default_model == ""
    assert settings_pane.model_path_edit.text() == ""


def test_the_pane_speaks_japanese(qtbot: QtBot, make_app: Callable[..., App]) -> None:
    app = make_app()
    pane = app.pane
    assert app.language.apply("ja") == "ja"
    qtbot.waitUntil(lambda: pane.section_titles["pc"].text() != "This PC", timeout=WAIT_MS)
    assert pane.section_titles["recommended"].text() == "この PC へのおすすめ"
    card = pane.recommended_row
    assert card is not None
    assert card.badge.text() == "CPU で動作（低速）"  # noqa: RUF001
    assert card.description_label.text().startswith("テスト用")
    assert card.action_button.text() == "ダウンロード"
    assert app.window.models_nav_button is not None
    assert app.window.models_nav_button.text() == "モデル"
    app.language.apply("en")
    qtbot.waitUntil(lambda: pane.section_titles["pc"].text() == "This PC", timeout=WAIT_MS)
    assert card.description_label.text().startswith("A 0.5 MB")


def test_a_gpu_build_too_big_for_the_gpu_offers_the_cpu_build(
        qtbot: QtBot, app_paths: AppPaths, hub: HubServer, tmp_path: Path) -> None:
    # A PC with a 4 GB NVIDIA card (built by hand: this machine has none) and a catalog model
    # whose CUDA build needs 8 GB; its CPU build is the tiny llama the hub serves.
    catalog = json.loads(TINY_CATALOG.read_text(encoding="utf-8"))
    big, small = dict(catalog["models"][1]), dict(catalog["models"][1])
    big.update(id="big-llama", name="Big Llama", variants=[
        {"providers": ["cuda"], "subfolder": "cuda/cuda-int4", "size_bytes": 5_000_000_000,
         "ram_bytes": 2_000_000_000, "vram_bytes": 8_000_000_000},
        {"providers": ["cpu"], "subfolder": LLAMA_SUBFOLDER, "size_bytes": 1_000_000,
         "ram_bytes": 50_000_000, "vram_bytes": 0}])
    small.update(id="small-llama", name="Small Llama", variants=[
        {"providers": ["cuda"], "subfolder": "cuda/cuda-int4", "size_bytes": 1_000_000,
         "ram_bytes": 50_000_000, "vram_bytes": 1_000_000_000}])
    catalog["models"] = [big, small]
    hardware = Hardware("Test 1", ram_total_bytes=32 * 10**9, ram_available_bytes=16 * 10**9,
                        gpus=(Gpu("NVIDIA RTX Test", 4 * 10**9),), disk_free_bytes=10**11,
                        packages=(("onnxruntime-genai-cuda", "0.18.0"),),
                        providers=frozenset({"cpu", "cuda"}))
    # The CUDA build is installed (its genai_config names the CUDA provider).
    library = ModelLibrary(app_paths)
    folder = app_paths.models / "big-llama-cuda-int4"
    shutil.copytree(TINY_LLAMA, folder)
    config = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))
    config["model"]["decoder"]["session_options"]["provider_options"] = [{"cuda": {}}]
    (folder / "genai_config.json").write_text(json.dumps(config), encoding="utf-8")
    installed = library.add_downloaded(folder, repo=LLAMA_REPO, subfolder="cuda/cuda-int4",
                                       revision=None, files=[], catalog_id="big-llama",
                                       name="Big Llama (CUDA)")
    assert installed.provider == "cuda"

    manager = ModelManager(library, parse_catalog(catalog), hardware_probe=lambda _f: hardware)
    pane = ModelManagerPane(manager)
    qtbot.addWidget(pane)
    pane.show()
    qtbot.waitUntil(lambda: manager.hardware is not None and installed.id in pane.installed_rows,
                    timeout=WAIT_MS)
    assert "NVIDIA RTX Test: 4.0 GB" in pane.pc_values["graphics"].text()
    assert pane.pc_values["runtime"].text() == (
        "ONNX Runtime GenAI 0.18.0; runs models on: CUDA, CPU")
    small_row = pane.catalog_rows["small-llama"]
    assert small_row.badge.verdict == "gpu"
    assert small_row.badge.text() == "Runs on your GPU"
    assert "Needs 1.0 GB of GPU memory; your GPU has 4.0 GB." in small_row.detail_label.text()
    big_row = pane.catalog_rows["big-llama"]
    assert big_row.badge.verdict == "cpu"
    assert "Your GPU cannot run it" in big_row.detail_label.text()
    assert "needs 8.0 GB of GPU memory" in big_row.detail_label.toolTip()
    row = pane.installed_rows[installed.id]
    assert row.cpu_button.isVisible()
    assert row.cpu_button.text() == "Download the CPU build (1.0 MB)"
    with qtbot.waitSignal(manager.download_finished, timeout=WAIT_MS) as finished:
        row.cpu_button.click()
    cpu = finished.args[1]
    assert cpu.provider == "cpu"
    assert cpu.subfolder == LLAMA_SUBFOLDER
    assert cpu.catalog_id == "big-llama"
    qtbot.waitUntil(lambda: len(pane.installed_rows) == 2, timeout=WAIT_MS)
    manager.shutdown()


class _UrlCatcher(QObject):
    """Receives the URLs QDesktopServices would hand to the file manager."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_folder_hands_the_folder_to_the_system(qtbot: QtBot,
                                                    make_app: Callable[..., App]) -> None:
    app = make_app()
    with qtbot.waitSignal(app.manager.import_finished, timeout=WAIT_MS) as imported:
        app.pane.import_folder(str(TINY_LLAMA), link=True)
    model = imported.args[0]
    qtbot.waitUntil(lambda: model.id in app.pane.installed_rows, timeout=WAIT_MS)
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        app.pane.installed_rows[model.id].open_action.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in catcher.urls] == [str(model.path)]


def test_the_document_search_model_downloads_from_its_row(
        qtbot: QtBot, app_paths: AppPaths) -> None:
    files = {"onnx/model_qint8_avx512_vnni.onnx": b"\x08\x07" * 2000,
             "onnx/tokenizer.json": b'{"version": "1.0"}', "onnx/model.onnx": b"\x01" * 9000}
    catalog = json.loads(TINY_CATALOG.read_text(encoding="utf-8"))
    catalog["embedders"] = [{
        "id": "multilingual-e5-small", "name": "e5 (test)", "repo": "hearth-test/e5",
        "subfolder": "onnx", "files": ["model_qint8_avx512_vnni.onnx", "tokenizer.json"],
        "size_bytes": 4100, "licence": "MIT", "dims": 384, "max_tokens": 512,
        "prefixes": {"query": "query: ", "passage": "passage: "},
        "description": {"en": "Finds passages by meaning.", "ja": "意味で探します。"}}]
    with HubServer([HubRepo.build("hearth-test/e5", extra=files)]) as server:
        manager = ModelManager(ModelLibrary(app_paths), parse_catalog(catalog),
                               endpoint=server.url, token=lambda: None)
        pane = ModelManagerPane(manager)
        qtbot.addWidget(pane)
        description, status, button = pane._embedder_widgets["multilingual-e5-small"]
        assert description.text() == "Finds passages by meaning."
        assert status.text() == "Not downloaded yet."
        assert button.text() == "Download"
        with qtbot.waitSignal(manager.download_finished, timeout=WAIT_MS):
            button.click()
            assert button.text() == "Downloading…"
            assert not button.isEnabled()
        folder = app_paths.models / "embedders" / "multilingual-e5-small"
        assert manager.embedder_folder() == folder
        assert (folder / "model_qint8_avx512_vnni.onnx").is_file()
        assert not (folder / "model.onnx").exists()
        assert status.text() == f"Downloaded to {folder}"
        assert button.text() == "Remove"
        with qtbot.waitSignal(manager.embedders_changed, timeout=WAIT_MS):
            button.click()
        assert not folder.exists()
        assert button.text() == "Download"
        manager.shutdown()
