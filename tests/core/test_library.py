"""The model library with real model folders (copies of the tiny llama) and the real runtime."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.catalog import load_catalog
from app.core.chat import CancelToken
from app.core.errors import ModelLibraryError, ModelLoadError
from app.core.hardware import Gpu, Hardware
from app.core.library import (
    LIBRARY_FILE,
    InstalledModel,
    ModelLibrary,
    cpu_alternative,
    cpu_alternative_for,
    folder_size,
    load_with_report,
    slugify,
    validate_model_folder,
)
from app.core.paths import AppPaths
from tests.conftest import TINY_GPTOSS, TINY_LLAMA


@pytest.fixture
def library(app_paths: AppPaths) -> ModelLibrary:
    return ModelLibrary(app_paths)


def leftovers(paths: AppPaths) -> list[str]:
    """Everything in the models folder except the register itself."""
    if not paths.models.exists():
        return []
    return sorted(p.name for p in paths.models.iterdir() if p.name != LIBRARY_FILE)


def file_list(folder: Path) -> list[tuple[str, int, str]]:
    return [(p.relative_to(folder).as_posix(), p.stat().st_size,
             hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()]


# -- checking a folder ---------------------------------------------------------------------------
def test_validate_reports_what_the_build_is() -> None:
    llama = validate_model_folder(TINY_LLAMA)
    assert llama.provider == "cpu"
    assert llama.reply_format == "plain"
    assert llama.context_tokens == 512
    assert llama.model_type == "llama"
    assert llama.size_bytes == sum(p.stat().st_size for p in TINY_LLAMA.iterdir())
    # The external data file is found through model.onnx itself.
    assert {"genai_config.json", "model.onnx", "model.onnx.data", "tokenizer.json"} <= set(
        llama.files)
    assert validate_model_folder(TINY_GPTOSS).reply_format == "harmony"


@pytest.mark.parametrize(("provider_options", "expected"), [
    ([{"cuda": {"enable_cuda_graph": "0"}}], "cuda"),
    ([{"dml": {}}], "dml"),
    ([{"webgpu": {}}], "webgpu"),
    ([], "cpu"),
])
def test_validate_reads_the_provider_the_build_targets(
        model_copy: Path, provider_options: list[object], expected: str) -> None:
    cfg_file = model_copy / "genai_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["model"]["decoder"]["session_options"]["provider_options"] = provider_options
    cfg_file.write_text(json.dumps(cfg))
    check = validate_model_folder(model_copy)
    assert check.provider == expected


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json", "model.onnx.data"])
def test_validate_names_the_missing_file(model_copy: Path, name: str) -> None:
    (model_copy / name).unlink()
    with pytest.raises(ModelLibraryError, match="not a usable model") as info:
        validate_model_folder(model_copy)
    assert f"{name} is missing" in info.value.user_message


def test_validate_names_other_sessions_files(model_copy: Path) -> None:
    cfg_file = model_copy / "genai_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["model"]["vision"] = {"filename": "vision.onnx"}
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(ModelLibraryError, match=r"vision\.onnx is missing \(genai_config"):
        validate_model_folder(model_copy)


def test_validate_refuses_an_empty_onnx_file(model_copy: Path) -> None:
    (model_copy / "model.onnx").write_bytes(b"")
    with pytest.raises(ModelLibraryError, match=r"model\.onnx is empty"):
        validate_model_folder(model_copy)


def test_validate_garbage_config(model_copy: Path) -> None:
    (model_copy / "genai_config.json").write_text("{ not json")
    with pytest.raises(ModelLibraryError, match=r"genai_config\.json is damaged"):
        validate_model_folder(model_copy)
    (model_copy / "genai_config.json").write_text('{"model": {"type": "llama"}}')
    with pytest.raises(ModelLibraryError, match=r"no model\.decoder"):
        validate_model_folder(model_copy)


def test_validate_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelLibraryError, match="does not exist"):
        validate_model_folder(tmp_path / "nowhere")
    with pytest.raises(ModelLibraryError, match="is a file, not a folder"):
        validate_model_folder(TINY_LLAMA / "model.onnx")


def test_validate_points_to_the_sub_folder(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(TINY_LLAMA, repo / "cpu_and_mobile" / "cpu-fp32")
    with pytest.raises(ModelLibraryError, match="sub-folder cpu_and_mobile/cpu-fp32"):
        validate_model_folder(repo)


def test_validate_refuses_a_file_outside_the_folder(model_copy: Path) -> None:
    cfg_file = model_copy / "genai_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["model"]["decoder"]["filename"] = "../model.onnx"
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(ModelLibraryError, match="outside the folder"):
        validate_model_folder(model_copy)


# -- importing -----------------------------------------------------------------------------------
def test_import_copies_and_is_remembered(library: ModelLibrary, app_paths: AppPaths,
                                         model_copy: Path) -> None:
    seen: list[tuple[int, int]] = []
    model = library.import_folder(model_copy, progress=lambda d, t: seen.append((d, t)))
    assert model is not None
    assert model.path.parent == app_paths.models
    assert not model.linked
    assert model.source == "import"
    assert model.provider == "cpu"
    assert model.size_bytes == folder_size(model_copy)
    assert (model.path / "model.onnx.data").read_bytes() == (
        model_copy / "model.onnx.data").read_bytes()
    assert seen[-1] == (model.size_bytes, model.size_bytes)
    sha = hashlib.sha256((model_copy / "tokenizer.json").read_bytes()).hexdigest()
    assert model.manifest["tokenizer.json"].sha256 == sha
    # A new instance (the next start, or the command line) reads the same register.
    again = ModelLibrary(app_paths).get(model.id)
    assert again.path == model.path
    assert again.manifest == model.manifest
    assert again.origin == str(model_copy.resolve())
    assert leftovers(app_paths) == [model.id]


def test_import_link_keeps_the_folder_where_it_is(library: ModelLibrary, app_paths: AppPaths,
                                                  model_copy: Path) -> None:
    model = library.import_folder(model_copy, link=True)
    assert model is not None
    assert model.linked
    assert model.path == model_copy.resolve()
    assert leftovers(app_paths) == []
    assert library.find_by_path(model_copy) == model
    assert library.remove(model.id) == 0
    assert (model_copy / "model.onnx").is_file(), "a linked folder is never deleted"
    assert library.list() == []


def test_import_refuses_a_broken_folder_and_keeps_nothing(
        library: ModelLibrary, app_paths: AppPaths, model_copy: Path) -> None:
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(ModelLibraryError, match=r"tokenizer\.json is missing"):
        library.import_folder(model_copy)
    assert library.list() == []
    assert leftovers(app_paths) == []


def test_import_refuses_duplicates(library: ModelLibrary, app_paths: AppPaths,
                                   model_copy: Path) -> None:
    model = library.import_folder(model_copy)
    assert model is not None
    with pytest.raises(ModelLibraryError, match=f"already installed as '{model.id}'"):
        library.import_folder(model_copy)
    with pytest.raises(ModelLibraryError, match="already in Hearth's models folder"):
        library.import_folder(model.path)
    linked = library.import_folder(model_copy, link=True)
    assert linked is not None
    assert linked.id != model.id
    with pytest.raises(ModelLibraryError, match="already installed"):
        library.import_folder(model_copy, link=True)


def test_cancelled_import_leaves_nothing(library: ModelLibrary, app_paths: AppPaths,
                                         model_copy: Path) -> None:
    cancel = CancelToken()
    staged: list[str] = []

    def progress(done: int, total: int) -> None:
        staged.extend(leftovers(app_paths))
        cancel.cancel()

    assert library.import_folder(model_copy, progress=progress, cancel=cancel) is None
    assert any(name.startswith(".import-") for name in staged), "copied through staging"
    assert leftovers(app_paths) == []
    assert library.list() == []


def test_drive_removed_mid_copy_leaves_nothing(library: ModelLibrary, app_paths: AppPaths,
                                               model_copy: Path) -> None:
    def unplug(done: int, total: int) -> None:
        shutil.rmtree(model_copy, ignore_errors=True)  # the USB stick is pulled out

    with pytest.raises(ModelLibraryError, match=r"could not be copied.*Nothing was imported"):
        library.import_folder(model_copy, progress=unplug)
    assert leftovers(app_paths) == []
    assert library.list() == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=640k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root on Linux)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_import_onto_a_full_disk_is_refused(tiny_disk: Path, model_copy: Path) -> None:
    paths = AppPaths.from_env(tiny_disk)
    with pytest.raises(ModelLibraryError, match="Not enough free space") as info:
        ModelLibrary(paths).import_folder(model_copy)
    assert "--link" in info.value.user_message
    assert leftovers(paths) == []


# -- missing folders, removal, verification ------------------------------------------------------
def test_missing_folder_is_listed_and_can_be_removed(library: ModelLibrary,
                                                     model_copy: Path) -> None:
    model = library.import_folder(model_copy, link=True)
    assert model is not None
    shutil.rmtree(model_copy)
    [listed] = library.list()
    assert listed.missing
    assert listed.as_dict()["missing"] is True
    report = library.verify(model.id)
    assert report is not None
    assert not report.ok
    assert "missing" in report.problems[0]
    with pytest.raises(ModelLoadError, match="missing"):
        load_with_report(listed)
    assert library.remove(model.id) == 0
    assert library.list() == []


def test_remove_frees_the_space(library: ModelLibrary, app_paths: AppPaths,
                                model_copy: Path) -> None:
    model = library.import_folder(model_copy)
    assert model is not None
    freed = library.remove(model.id)
    assert freed == folder_size(model_copy)
    assert not model.path.exists()
    assert leftovers(app_paths) == []
    assert ModelLibrary(app_paths).list() == []
    with pytest.raises(ModelLibraryError, match="No installed model"):
        library.remove(model.id)


def test_verify_detects_a_changed_byte_and_a_missing_file(library: ModelLibrary,
                                                          model_copy: Path) -> None:
    model = library.import_folder(model_copy)
    assert model is not None
    report = library.verify(model.id)
    assert report is not None
    assert report.ok
    assert report.hashed
    assert report.checked_bytes == model.size_bytes

    data = model.path / "model.onnx.data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    (model.path / "chat_template.jinja").unlink()
    report = library.verify(model.id)
    assert report is not None
    assert not report.ok
    text = "\n".join(report.problems)
    assert "model.onnx.data has changed: its SHA-256" in text
    assert "chat_template.jinja is missing" in text


def test_verify_can_be_cancelled(library: ModelLibrary, model_copy: Path) -> None:
    model = library.import_folder(model_copy)
    assert model is not None
    cancel = CancelToken()
    cancel.cancel()
    assert library.verify(model.id, cancel=cancel) is None


def test_damaged_register_is_rebuilt(library: ModelLibrary, app_paths: AppPaths,
                                     model_copy: Path) -> None:
    model = library.import_folder(model_copy)
    assert model is not None
    library.file.write_bytes(b"\x00garbage{")
    fresh = ModelLibrary(app_paths)
    [found] = fresh.list()
    assert found.path == model.path
    assert found.id == model.id
    assert fresh.warnings
    assert "damaged" in fresh.warnings[0]
    backups = list(app_paths.models.glob(f"{LIBRARY_FILE}.bad-*"))
    assert [b.read_bytes() for b in backups] == [b"\x00garbage{"]
    assert json.loads(fresh.file.read_text())["schema_version"] == 1


def test_damaged_record_is_skipped(library: ModelLibrary, app_paths: AppPaths,
                                   model_copy: Path) -> None:
    model = library.import_folder(model_copy, link=True)
    assert model is not None
    data = json.loads(library.file.read_text())
    data["models"].append({"id": 5, "name": None})
    library.file.write_text(json.dumps(data))
    fresh = ModelLibrary(app_paths)
    assert [m.id for m in fresh.list()] == [model.id]
    assert "Entry 2" in fresh.warnings[0]


def test_unregistered_model_folder_is_found(library: ModelLibrary, app_paths: AppPaths) -> None:
    # A download finished but the app stopped before registering it.
    shutil.copytree(TINY_GPTOSS, app_paths.models / "tiny-gptoss-onnx" / "cpu-int4")
    (app_paths.models / "half-done").mkdir(parents=True)
    (app_paths.models / "half-done" / "genai_config.json").write_text("{}")
    [found] = library.list()
    assert found.reply_format == "harmony"
    assert found.id == "tiny-gptoss-onnx-cpu-int4"
    assert ModelLibrary(app_paths).get(found.id).installed_at == found.installed_at


def test_add_downloaded_records_the_manifest(library: ModelLibrary, app_paths: AppPaths) -> None:
    folder = library.download_folder("hearth-test/tiny-llama-onnx", "cpu_and_mobile/cpu-fp32",
                                     "tiny-llama")
    assert folder == app_paths.models / "tiny-llama-cpu-fp32"
    shutil.copytree(TINY_LLAMA, folder)
    assert library.list()[0].source == "import", "found before it was registered"
    files = file_list(folder)
    model = library.add_downloaded(folder, repo="hearth-test/tiny-llama-onnx",
                                   subfolder="cpu_and_mobile/cpu-fp32", revision="abc123",
                                   files=files, catalog_id="tiny-llama")
    assert model.source == "download"
    assert not model.linked
    assert model.id == "tiny-llama-cpu-fp32"
    assert model.name == "tiny-llama-onnx (cpu-fp32)"
    assert library.get(model.id).revision == "abc123"
    assert len(library.list()) == 1, "not registered twice by discovery"
    report = library.verify(model.id)
    assert report is not None
    assert report.ok
    (folder / "model.onnx").rename(folder / "moved.onnx")
    with pytest.raises(ModelLibraryError, match=r"model\.onnx is missing"):
        library.add_downloaded(folder, repo="x/y", subfolder=None, revision=None, files=files)


def test_mark_used_orders_the_list(library: ModelLibrary, model_copy: Path,
                                   tmp_path: Path) -> None:
    first = library.import_folder(model_copy)
    other = tmp_path / "other"
    shutil.copytree(TINY_GPTOSS, other)
    second = library.import_folder(other)
    assert first is not None
    assert second is not None
    used = library.mark_used(first.id)
    assert used.last_used_at is not None
    assert [m.id for m in library.list()] == [first.id, second.id]


def test_resolve_default(library: ModelLibrary, model_copy: Path, tmp_path: Path) -> None:
    assert library.resolve_default("").path is None
    model = library.import_folder(model_copy, link=True)
    assert model is not None
    ok = library.resolve_default(str(model_copy))
    assert ok.model == model
    assert ok.problem == ""
    gone = library.resolve_default(str(tmp_path / "unplugged"))
    assert gone.model is None
    assert "missing" in gone.problem
    assert "unplugged" in gone.problem


def test_slugify() -> None:
    assert slugify("Phi-4 mini (CPU)") == "phi-4-mini-cpu"
    assert slugify("日本語") == "model"


# -- loading -------------------------------------------------------------------------------------
def test_load_with_report_on_tiny_llama(library: ModelLibrary, model_copy: Path) -> None:
    model = library.import_folder(model_copy)
    assert model is not None
    loaded, report = load_with_report(model, "auto")
    assert loaded.provider == "cpu"
    assert report.provider == "cpu"
    assert report.load_seconds > 0
    assert report.memory_bytes is not None
    assert report.memory_bytes >= 0
    assert report.skipped == tuple(loaded.fallbacks)
    assert report.as_dict()["provider"] == "cpu"


def test_load_with_report_names_a_broken_model(model_copy: Path) -> None:
    (model_copy / "model.onnx.data").write_bytes(b"\0" * 100)
    with pytest.raises(ModelLoadError, match=r"model-copy"):
        load_with_report(model_copy, "cpu")


# -- the CPU build for a model too big for the GPU -----------------------------------------------
def machine(vram_gb: float, ram_gb: float) -> Hardware:
    return Hardware(system="test", ram_total_bytes=int(ram_gb * 1e9),
                    ram_available_bytes=int(ram_gb * 1e9),
                    gpus=(Gpu("RTX", int(vram_gb * 1e9)),), providers=frozenset({"cpu", "cuda"}))


def test_cpu_alternative() -> None:
    catalog = load_catalog()
    entry = catalog.get("gpt-oss-20b")
    cuda = entry.variant_for("cuda")
    cpu = entry.variant_for("cpu")
    assert cuda is not None
    assert cpu is not None
    roomy = machine(cuda.vram_bytes / 1e9 + 8, cpu.ram_bytes / 1e9 + 8)
    assert cpu_alternative(entry, roomy) is None, "fits the GPU: nothing to offer"
    small_gpu = machine(2, cpu.ram_bytes / 1e9 + 8)
    assert cpu_alternative(entry, small_gpu) == cpu
    assert cpu_alternative(entry, machine(2, 1)) is None, "the CPU build does not fit either"
    assert cpu_alternative(entry, roomy, gpu_failed=True) == cpu

    installed = InstalledModel(
        id="g", name="gpt-oss", path=Path("/nowhere"), source="download", linked=False,
        provider="cuda", reply_format="harmony", size_bytes=1, installed_at=0.0,
        catalog_id="gpt-oss-20b")
    assert cpu_alternative_for(installed, catalog, small_gpu) == (entry, cpu)
    assert cpu_alternative_for(installed, catalog, roomy) is None
