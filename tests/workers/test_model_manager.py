"""The model manager with real parts: the tiny catalog, a real hub on loopback, a real library
in the test's data folder, real files; signals waited for, never slept on."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.catalog import Catalog, load_catalog, parse_catalog
from app.core.chat import CancelToken
from app.core.downloads import (
    DownloadProgress,
    DownloadStopped,
    download_model,
    partial_bytes,
    partial_dir,
    plan_download,
)
from app.core.hardware import Hardware
from app.core.library import InstalledModel, ModelLibrary
from app.core.paths import AppPaths
from app.workers.models import (
    EMBEDDER_CONFIG_FILE,
    PENDING_FILE,
    DownloadInfo,
    ModelManager,
    PendingDownloads,
)
from tests.conftest import FIXTURES, TINY_LLAMA
from tests.hub_server import (
    GPTOSS_REPO,
    LLAMA_REPO,
    LLAMA_SUBFOLDER,
    HubRepo,
    HubServer,
    default_repos,
)

TINY_CATALOG = FIXTURES / "catalog-tiny.json"
LLAMA_DATA = f"{LLAMA_SUBFOLDER}/model.onnx.data"
GATED_REPO = "hearth-test/gated-llama-onnx"
EMBEDDER_REPO = "hearth-test/tiny-embedder"
EMBEDDER_FILES = {"onnx/model_qint8.onnx": b"\x08\x07" * 3000,
                  "onnx/tokenizer.json": b'{"version": "1.0"}',
                  "onnx/config.json": b'{"hidden_size": 8}',
                  "onnx/model.onnx": b"\x01" * 50_000}  # another export: must not be fetched
WAIT_MS = 30_000


@pytest.fixture
def hub() -> Iterator[HubServer]:
    repos = [*default_repos(),
             HubRepo.build(GATED_REPO, {LLAMA_SUBFOLDER: TINY_LLAMA}, gated=True),
             HubRepo.build(EMBEDDER_REPO, extra=EMBEDDER_FILES)]
    with HubServer(repos) as server:
        yield server


def tiny_catalog(with_embedder: bool = False) -> Catalog:
    data = json.loads(TINY_CATALOG.read_text(encoding="utf-8"))
    if with_embedder:
        data["embedders"] = [{
            "id": "tiny-e5", "name": "tiny e5 (test)", "repo": EMBEDDER_REPO,
            "subfolder": "onnx", "files": ["model_qint8.onnx", "tokenizer.json", "config.json"],
            "size_bytes": 6100, "licence": "MIT", "dims": 8, "max_tokens": 512,
            "prefixes": {"query": "query: ", "passage": "passage: "},
            "description": {"en": "A test embedder.", "ja": "テスト用。"}}]
    return parse_catalog(data)


@pytest.fixture
def make_manager(qtbot: QtBot, app_paths: AppPaths,
                 hub: HubServer) -> Iterator[Callable[..., ModelManager]]:
    managers: list[ModelManager] = []

    def make(**kwargs: object) -> ModelManager:
        kwargs.setdefault("catalog", tiny_catalog(with_embedder=True))
        kwargs.setdefault("endpoint", hub.url)
        kwargs.setdefault("token", lambda: None)
        manager = ModelManager(ModelLibrary(app_paths), **kwargs)  # type: ignore[arg-type]
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.shutdown()


def refreshed(qtbot: QtBot, manager: ModelManager) -> None:
    with qtbot.waitSignal(manager.library_changed, timeout=WAIT_MS):
        manager.refresh()


def test_the_catalog_comes_from_hearth_catalog(monkeypatch: pytest.MonkeyPatch,
                                               app_paths: AppPaths, qtbot: QtBot) -> None:
    monkeypatch.setenv("HEARTH_CATALOG", str(TINY_CATALOG))
    manager = ModelManager(ModelLibrary(app_paths))
    assert [e.id for e in manager.catalog] == ["tiny-gptoss", "tiny-llama"]
    assert manager.catalog_error == ""
    monkeypatch.setenv("HEARTH_CATALOG", str(app_paths.data / "nothing.json"))
    broken = ModelManager(ModelLibrary(app_paths))
    assert len(broken.catalog) == 0
    assert "cannot be read" in broken.catalog_error


def test_hardware_check_recommends_a_model_that_fits(qtbot: QtBot,
                                                     make_manager: Callable[..., ModelManager]
                                                     ) -> None:
    manager = make_manager()
    with qtbot.waitSignal(manager.hardware_detected, timeout=WAIT_MS) as blocker:
        manager.detect_hardware()
    hardware = blocker.args[0]
    assert hardware.ram_total_bytes > 0
    assert hardware.disk_free_bytes is not None
    assert "cpu" in hardware.providers
    # Both tiny models need 50 MB: they run on this machine's CPU; the first is recommended.
    assert [f.verdict for f in manager.fits] == ["cpu", "cpu"]
    assert manager.recommendation is not None
    assert manager.recommendation.entry.id == "tiny-gptoss"


def test_a_machine_without_memory_gets_no_recommendation(
        qtbot: QtBot, make_manager: Callable[..., ModelManager]) -> None:
    small = Hardware("Test 1", ram_total_bytes=8_000_000, ram_available_bytes=4_000_000)
    manager = make_manager(hardware_probe=lambda _folder: small)
    with qtbot.waitSignal(manager.hardware_detected, timeout=WAIT_MS):
        manager.detect_hardware()
    assert [f.verdict for f in manager.fits] == ["no", "no"]
    assert manager.recommendation is None
    assert "free memory" in manager.fits[0].reason


def test_download_installs_and_registers_the_model(
        qtbot: QtBot, make_manager: Callable[..., ModelManager], app_paths: AppPaths,
        hub: HubServer) -> None:
    manager = make_manager()
    progress: list[DownloadInfo] = []
    manager.download_progressed.connect(lambda _key, info: progress.append(info))
    with qtbot.waitSignal(manager.download_finished, timeout=WAIT_MS) as blocker:
        key = manager.download_entry("tiny-llama")
        assert key is not None
        assert manager.download_info(key) is not None
        assert (app_paths.models / PENDING_FILE).is_file()  # recorded before any byte
    assert blocker.args[0] == key
    model = blocker.args[1]
    assert isinstance(model, InstalledModel)
    assert model.catalog_id == "tiny-llama"
    assert model.repo == LLAMA_REPO
    assert model.subfolder == LLAMA_SUBFOLDER
    assert sorted(p.name for p in model.path.iterdir()) == sorted(
        p.name for p in TINY_LLAMA.iterdir())
    assert (model.path / "model.onnx.data").read_bytes() == (
        TINY_LLAMA / "model.onnx.data").read_bytes()
    assert progress
    assert progress[-1].done_bytes == progress[-1].total_bytes > 0
    assert manager.downloads() == []
    assert not (app_paths.models / PENDING_FILE).exists()
    qtbot.waitUntil(lambda: any(m.id == model.id for m in manager.models), timeout=WAIT_MS)
    assert ModelLibrary(app_paths).get(model.id).manifest  # registered with checksums
    # A second download of the same build is refused, without asking the hub.
    served = hub.connections
    with qtbot.waitSignal(manager.error_occurred, timeout=WAIT_MS) as refused:
        assert manager.download_entry("tiny-llama") is None
    assert "already installed" in refused.args[0]
    assert hub.connections == served


def test_pause_and_resume_continue_from_the_bytes_already_there(
        qtbot: QtBot, make_manager: Callable[..., ModelManager], hub: HubServer) -> None:
    hub.throttle_bps = 150_000
    manager = make_manager()
    key = manager.download_entry("tiny-llama")
    assert key is not None
    qtbot.waitUntil(lambda: (manager.download_info(key) or DownloadInfo(
        "", "model", "", "", "", Path(), "starting")).done_bytes > 120_000, timeout=WAIT_MS)
    with qtbot.waitSignal(manager.download_paused, timeout=WAIT_MS):
        manager.pause(key)
    info = manager.download_info(key)
    assert info is not None
    assert info.state == "paused"
    staged = partial_bytes(info.dest)
    assert 0 < staged < info.total_bytes
    assert not info.dest.exists()
    hub.throttle_bps = None
    with qtbot.waitSignal(manager.download_finished, timeout=WAIT_MS):
        assert manager.resume(key) == key
    # The big file was asked for again from where it stopped, not from the start.
    ranges = [r.start for r in hub.requests_for(LLAMA_DATA)]
    assert ranges[0] == 0
    assert any(start > 0 for start in ranges[1:])
    assert (info.dest / "model.onnx.data").read_bytes() == (
        TINY_LLAMA / "model.onnx.data").read_bytes()


def test_cancel_leaves_nothing(qtbot: QtBot, make_manager: Callable[..., ModelManager],
                               app_paths: AppPaths, hub: HubServer) -> None:
    hub.throttle_bps = 100_000
    manager = make_manager()
    key = manager.download_entry("tiny-llama")
    assert key is not None
    qtbot.waitUntil(lambda: any(d.done_bytes > 50_000 for d in manager.downloads()),
                    timeout=WAIT_MS)
    dest = manager.downloads()[0].dest
    assert partial_dir(dest).is_dir()
    with qtbot.waitSignal(manager.download_cancelled, timeout=WAIT_MS):
        manager.cancel(key)
    assert manager.downloads() == []
    assert not dest.exists()
    assert not partial_dir(dest).exists()
    assert sorted(p.name for p in app_paths.models.iterdir()) == []


def test_a_download_left_by_a_previous_run_is_found_paused_and_resumes(
        qtbot: QtBot, make_manager: Callable[..., ModelManager], hub: HubServer) -> None:
    hub.throttle_bps = 150_000
    first = make_manager()
    key = first.download_entry("tiny-llama")
    assert key is not None
    qtbot.waitUntil(lambda: any(d.done_bytes > 100_000 for d in first.downloads()),
                    timeout=WAIT_MS)
    first.shutdown()  # the window closes mid-download: the bytes stay staged
    hub.throttle_bps = None

    second = make_manager()
    refreshed(qtbot, second)
    [found] = second.downloads()
    assert found.key == key
    assert found.state == "paused"
    assert found.resumable
    assert found.catalog_id == "tiny-llama"
    assert found.done_bytes > 100_000
    with qtbot.waitSignal(second.download_finished, timeout=WAIT_MS) as blocker:
        second.resume(key)
    assert blocker.args[1].catalog_id == "tiny-llama"


def test_an_unrecorded_staging_folder_is_found_by_its_state_file(
        qtbot: QtBot, make_manager: Callable[..., ModelManager], app_paths: AppPaths,
        hub: HubServer) -> None:
    # As `hearth models download` leaves it when interrupted: no record, only the core's state.
    plan = plan_download(LLAMA_REPO, LLAMA_SUBFOLDER, endpoint=hub.url)
    dest = app_paths.models / "tiny-llama-cpu-fp32"
    cancel = CancelToken()
    hub.throttle_bps = 300_000  # progress comes every 0.1 s: slow enough to stop midway

    def stop_after_first_files(p: DownloadProgress) -> None:
        if p.files_done >= 2:
            cancel.cancel()

    with pytest.raises(DownloadStopped):
        download_model(plan, dest, endpoint=hub.url, progress=stop_after_first_files,
                       cancel=cancel)
    hub.throttle_bps = None
    manager = make_manager()
    refreshed(qtbot, manager)
    [found] = manager.downloads()
    assert (found.repo, found.subfolder, found.state) == (LLAMA_REPO, LLAMA_SUBFOLDER, "paused")
    assert found.done_bytes == partial_bytes(dest) > 0
    with qtbot.waitSignal(manager.download_finished, timeout=WAIT_MS):
        manager.resume(found.key)
    assert (dest / "genai_config.json").is_file()


def test_a_gated_repo_asks_for_a_token(qtbot: QtBot,
                                       make_manager: Callable[..., ModelManager]) -> None:
    manager = make_manager()
    with qtbot.waitSignal(manager.download_failed, timeout=WAIT_MS) as blocker:
        key = manager.download_repo(GATED_REPO, LLAMA_SUBFOLDER)
    assert blocker.args[0] == key
    assert "token" in blocker.args[1]
    assert "Settings" in blocker.args[1]
    info = manager.download_info(blocker.args[0])
    assert info is not None
    assert info.state == "failed"
    assert info.needs_token


def test_a_folder_with_several_models_names_them(
        qtbot: QtBot, make_manager: Callable[..., ModelManager]) -> None:
    manager = make_manager()
    with qtbot.waitSignal(manager.download_failed, timeout=WAIT_MS) as blocker:
        manager.download_repo(f"https://huggingface.co/{GPTOSS_REPO}", "cpu_and_mobile")
    assert "cpu_and_mobile/cpu-int4" in blocker.args[1]
    assert not manager.download_info(blocker.args[0]).needs_token  # type: ignore[union-attr]


def test_offline_mode_makes_no_connection(qtbot: QtBot, hub: HubServer,
                                          make_manager: Callable[..., ModelManager],
                                          app_paths: AppPaths) -> None:
    manager = make_manager(offline=True)
    errors: list[str] = []
    manager.error_occurred.connect(errors.append)
    assert manager.download_entry("tiny-llama") is None
    assert manager.download_repo(LLAMA_REPO, LLAMA_SUBFOLDER) is None
    assert manager.download_embedder() is None
    assert manager.search("tiny") is False
    with qtbot.waitSignal(manager.hardware_detected, timeout=WAIT_MS):
        manager.detect_hardware()  # local only
    refreshed(qtbot, manager)
    assert len(errors) == 3
    assert all("Offline mode is on" in e for e in errors)
    assert manager.downloads() == []
    assert hub.connections == 0
    assert not (app_paths.models / PENDING_FILE).exists()
    # Turning offline mode on pauses what runs; off again, it can go on.
    manager.set_offline(False)
    hub.throttle_bps = 100_000
    key = manager.download_entry("tiny-llama")
    assert key is not None
    qtbot.waitUntil(lambda: any(d.done_bytes > 0 for d in manager.downloads()),
                    timeout=WAIT_MS)
    with qtbot.waitSignal(manager.download_paused, timeout=WAIT_MS):
        manager.set_offline(True)
    connections = hub.connections
    with qtbot.waitSignal(manager.download_failed, timeout=WAIT_MS):
        manager.resume(key)
    assert hub.connections == connections


def test_the_embedder_downloads_only_its_files(qtbot: QtBot, hub: HubServer,
                                               make_manager: Callable[..., ModelManager],
                                               app_paths: AppPaths) -> None:
    manager = make_manager()
    assert manager.embedder_folder() is None
    with qtbot.waitSignal(manager.download_finished, timeout=WAIT_MS) as blocker:
        manager.download_embedder()
    folder = app_paths.models / "embedders" / "tiny-e5"
    assert blocker.args[1] == folder
    assert manager.embedder_folder() == folder
    assert manager.embedder_folder("tiny-e5") == folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["model_qint8.onnx", "tokenizer.json", "config.json", EMBEDDER_CONFIG_FILE])
    assert (folder / "model_qint8.onnx").read_bytes() == EMBEDDER_FILES["onnx/model_qint8.onnx"]
    assert hub.bytes_served["onnx/model.onnx"] == 0
    config = json.loads((folder / EMBEDDER_CONFIG_FILE).read_text(encoding="utf-8"))
    assert config["query_prefix"] == "query: "
    assert config["max_tokens"] == 512
    # Not a chat model: the library does not list it.
    refreshed(qtbot, manager)
    assert manager.models == ()
    with qtbot.waitSignal(manager.embedders_changed, timeout=WAIT_MS):
        manager.remove_embedder("tiny-e5")
    assert manager.embedder_folder() is None
    assert not folder.exists()


def test_import_remove_and_a_missing_folder(qtbot: QtBot, tmp_path: Path,
                                            make_manager: Callable[..., ModelManager]) -> None:
    manager = make_manager()
    broken = tmp_path / "broken"
    shutil.copytree(TINY_LLAMA, broken)
    (broken / "model.onnx.data").unlink()
    with qtbot.waitSignal(manager.import_failed, timeout=WAIT_MS) as failed:
        assert manager.import_folder(str(broken))
    assert "model.onnx.data is missing" in failed.args[0]
    assert not manager.importing

    with qtbot.waitSignal(manager.import_finished, timeout=WAIT_MS) as copied:
        manager.import_folder(str(TINY_LLAMA))
    model = copied.args[0]
    assert model.path.is_dir()
    assert not model.linked
    linked_source = tmp_path / "on-a-stick"
    shutil.copytree(TINY_LLAMA, linked_source)
    with qtbot.waitSignal(manager.import_finished, timeout=WAIT_MS) as linked:
        manager.import_folder(str(linked_source), link=True)
    assert linked.args[0].linked

    with qtbot.waitSignal(manager.model_removed, timeout=WAIT_MS) as removed:
        manager.remove(model.id)
    assert removed.args[0] == model.id
    assert removed.args[1] > 800_000  # the copy's bytes
    assert not model.path.exists()

    shutil.rmtree(linked_source)  # the stick is pulled
    refreshed(qtbot, manager)
    [gone] = manager.models
    assert gone.missing
    with qtbot.waitSignal(manager.verified, timeout=WAIT_MS) as verified:
        manager.verify(gone.id)
    assert not verified.args[1].ok


def test_search_lists_the_loadable_builds(qtbot: QtBot,
                                          make_manager: Callable[..., ModelManager]) -> None:
    manager = make_manager()
    with qtbot.waitSignal(manager.search_finished, timeout=WAIT_MS) as blocker:
        assert manager.search("tiny")
    query, results = blocker.args
    assert query == "tiny"
    repos = {r.repo: r for r in results}
    assert repos[LLAMA_REPO].genai_subfolders == (LLAMA_SUBFOLDER,)


def test_pending_downloads_survive_a_damaged_record(app_paths: AppPaths) -> None:
    pending = PendingDownloads(app_paths.models)
    app_paths.models.mkdir(parents=True)
    (app_paths.models / PENDING_FILE).write_text("{not json", encoding="utf-8")
    assert pending.read() == {}
    assert pending.scan() == []


def test_the_shipped_catalog_has_a_document_search_model(app_paths: AppPaths) -> None:
    # What the Document search section offers by default.
    manager = ModelManager(ModelLibrary(app_paths), load_catalog(
        Path(__file__).resolve().parents[2] / "models" / "catalog.json"))
    assert manager.catalog.embedders[0].id == "multilingual-e5-small"
    assert manager.embedder_dest("multilingual-e5-small") == (
        app_paths.models / "embedders" / "multilingual-e5-small")
    assert manager.embedder_folder() is None
