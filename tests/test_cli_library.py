"""`hearth models list|import|remove|verify` against the data folder the window uses."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.core.library import LIBRARY_FILE, ModelLibrary
from app.core.paths import AppPaths
from tests.conftest import TINY_GPTOSS, TINY_LLAMA
from tests.hub_server import (
    GPTOSS_REPO,
    GPTOSS_SUBFOLDER,
    LLAMA_REPO,
    LLAMA_SUBFOLDER,
    HubRepo,
    HubServer,
    default_repos,
)

pytestmark = pytest.mark.usefixtures("restore_app_logging")


class Terminal(io.StringIO):
    """Standard input as a person at a terminal types it."""

    def isatty(self) -> bool:
        return True


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def imported(capsys: pytest.CaptureFixture[str], folder: Path, *extra: str) -> dict[str, object]:
    data = run_json(capsys, "models", "import", str(folder), *extra)
    assert isinstance(data, dict)
    return data


def test_list_shows_installed_models_and_the_catalog(
        capsys: pytest.CaptureFixture[str], model_copy: Path) -> None:
    code, out, _ = run(capsys, "models", "list")
    assert code == 0
    assert "none yet" in out
    assert "phi-4-mini-instruct" in out

    code, out, err = run(capsys, "models", "import", str(model_copy))
    assert code == 0, err
    assert "imported model-copy" in out
    assert "copying: 100%" in err
    code, out, _ = run(capsys, "models", "list")
    installed, catalog = out.split("catalog\n")
    assert "model-copy" in installed
    assert "never used" in installed
    assert "gpt-oss-20b" in catalog

    data = run_json(capsys, "models", "list")
    assert isinstance(data, dict)
    [model] = data["installed"]
    assert model["id"] == "model-copy"
    assert model["provider"] == "cpu"
    assert model["size_bytes"] == sum(p.stat().st_size for p in model_copy.iterdir())
    assert model["missing"] is False
    assert {m["id"] for m in data["models"]} >= {"gpt-oss-20b"}, "the catalog is still there"


def test_import_link_and_missing(capsys: pytest.CaptureFixture[str], model_copy: Path,
                                 app_paths: AppPaths) -> None:
    model = imported(capsys, model_copy, "--link")
    assert model["linked"] is True
    assert model["path"] == str(model_copy.resolve())
    shutil.rmtree(model_copy)
    code, out, _ = run(capsys, "models", "list")
    assert code == 0
    assert f"MISSING {model_copy.resolve()}" in out
    data = run_json(capsys, "models", "list")
    assert isinstance(data, dict)
    assert data["installed"][0]["missing"] is True


def test_list_marks_the_default_model(capsys: pytest.CaptureFixture[str], model_copy: Path,
                                      app_paths: AppPaths, tmp_path: Path) -> None:
    from app.core.settings import Settings, SettingsStore, update

    model = imported(capsys, model_copy)
    store = SettingsStore(app_paths)
    store.save(update(Settings(), {"model.default_model": str(model["path"])}))
    code, out, _ = run(capsys, "models", "list")
    assert code == 0
    assert "(default)" in out
    data = run_json(capsys, "models", "list")
    assert isinstance(data, dict)
    assert data["default_model"] == {"path": model["path"], "id": "model-copy", "problem": None}

    store.save(update(Settings(), {"model.default_model": str(tmp_path / "unplugged")}))
    code, out, _ = run(capsys, "models", "list")
    assert "The default model unplugged is missing" in out


def test_import_refuses_a_broken_folder(capsys: pytest.CaptureFixture[str], model_copy: Path,
                                        app_paths: AppPaths) -> None:
    (model_copy / "model.onnx").unlink()
    code, out, err = run(capsys, "models", "import", str(model_copy))
    assert code == 1
    assert out == ""
    assert "model.onnx is missing (genai_config.json names it)" in err
    assert ModelLibrary(app_paths).list() == []

    code, _, err = run(capsys, "models", "import", str(model_copy / "tokenizer.json"))
    assert code == 1
    assert "not a folder" in err


def test_remove_asks_first(capsys: pytest.CaptureFixture[str], model_copy: Path,
                           monkeypatch: pytest.MonkeyPatch, app_paths: AppPaths) -> None:
    model = imported(capsys, model_copy)
    folder = Path(str(model["path"]))

    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # a script: no terminal
    code, _, err = run(capsys, "models", "remove", "model-copy")
    assert code == 2
    assert "add --yes" in err
    assert folder.is_dir()

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    code, _, err = run(capsys, "models", "remove", "model-copy")
    assert code == 1
    assert f"delete {folder}" in err
    assert "nothing removed" in err
    assert folder.is_dir()

    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    code, out, _ = run(capsys, "models", "remove", "model-copy")
    assert code == 0
    assert out.startswith("removed model-copy: ")
    assert "freed" in out
    assert not folder.exists()
    assert ModelLibrary(app_paths).list() == []


def test_remove_yes_json(capsys: pytest.CaptureFixture[str], model_copy: Path) -> None:
    model = imported(capsys, model_copy)
    result = run_json(capsys, "models", "remove", "model-copy", "--yes")
    assert result == {"id": "model-copy", "freed_bytes": model["size_bytes"], "deleted": True}
    code, _, err = run(capsys, "models", "remove", "model-copy", "--yes")
    assert code == 1
    assert "No installed model is called 'model-copy'" in err


def test_verify(capsys: pytest.CaptureFixture[str], model_copy: Path) -> None:
    model = imported(capsys, model_copy)
    code, out, _ = run(capsys, "models", "verify", "model-copy")
    assert code == 0
    assert "model-copy: ok (7 files, checksums match)" in out

    tokenizer = Path(str(model["path"])) / "tokenizer.json"
    raw = bytearray(tokenizer.read_bytes())
    raw[100] ^= 0x01
    tokenizer.write_bytes(bytes(raw))
    code, out, _ = run(capsys, "models", "verify", "model-copy")
    assert code == 1
    assert "tokenizer.json has changed" in out

    code, out, _ = run(capsys, "models", "verify", "model-copy", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert any("tokenizer.json" in p for p in report["problems"])


def test_damaged_register_is_reported_and_rebuilt(capsys: pytest.CaptureFixture[str],
                                                  model_copy: Path,
                                                  app_paths: AppPaths) -> None:
    imported(capsys, model_copy)
    (app_paths.models / LIBRARY_FILE).write_text("[1, 2", encoding="utf-8")
    code, out, err = run(capsys, "models", "list")
    assert code == 0
    assert "was damaged" in err
    assert "model-copy" in out.split("catalog\n")[0]


@pytest.mark.slow
def test_installed_command_imports(tmp_path: Path) -> None:
    """The `hearth` script itself, as installed in the venv, in a fresh process."""
    script = Path(sys.executable).parent / ("hearth.exe" if os.name == "nt" else "hearth")
    if not script.exists():
        pytest.skip("the hearth entry point is not installed in this environment")
    env = {**os.environ, "HEARTH_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([str(script), "models", "import", str(TINY_GPTOSS), "--json"],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    model = json.loads(proc.stdout)
    assert model["reply_format"] == "harmony"
    assert Path(model["path"]).parent == tmp_path / "data" / "models"
    listed = subprocess.run([str(script), "models", "list", "--json"], capture_output=True,
                            text=True, timeout=120, env=env, check=False)
    assert [m["id"] for m in json.loads(listed.stdout)["installed"]] == [model["id"]]


# -- search and download, against a real HTTP hub on loopback -------------------------------------
TINY_CATALOG = Path(__file__).parent / "fixtures" / "catalog-tiny.json"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The test hub serving the tiny models, with the tiny catalog that points at it."""
    monkeypatch.setenv("HEARTH_CATALOG", str(TINY_CATALOG))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    repos = [*default_repos(),
             HubRepo.build("someone/two-builds", {"cpu": TINY_LLAMA, "cpu-copy": TINY_LLAMA}),
             HubRepo.build("someone/gated-model", {"": TINY_LLAMA}, gated=True),
             HubRepo.build("someone/not-onnx", extra={"model.safetensors": b"x" * 100})]
    with HubServer(repos, tokens={"hf_valid": None}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_search(capsys: pytest.CaptureFixture[str], hub: HubServer) -> None:
    code, out, _ = run(capsys, "models", "search", "tiny")
    assert code == 0
    assert f"{LLAMA_REPO}  120 downloads, 3 likes" in out
    assert f"--subfolder {LLAMA_SUBFOLDER}" in out
    results = run_json(capsys, "models", "search", "tiny")
    assert isinstance(results, list)
    assert {r["repo"] for r in results} == {LLAMA_REPO, GPTOSS_REPO}
    assert next(r for r in results if r["repo"] == GPTOSS_REPO)["builds"] == [GPTOSS_SUBFOLDER]


def test_download_a_catalog_model(capsys: pytest.CaptureFixture[str], hub: HubServer,
                                  app_paths: AppPaths) -> None:
    code, out, err = run(capsys, "models", "download", "tiny-llama")
    assert code == 0, err
    assert f"downloading {LLAMA_REPO}/{LLAMA_SUBFOLDER}" in err
    assert "downloading: 100%" in err
    assert out.startswith("downloaded tiny-llama-cpu-fp32: tiny Llama (test) (CPU)")
    model = ModelLibrary(app_paths).get("tiny-llama-cpu-fp32")
    assert model.source == "download"
    assert model.catalog_id == "tiny-llama"
    assert model.repo == LLAMA_REPO
    assert model.subfolder == LLAMA_SUBFOLDER
    assert model.revision == hub.repos[LLAMA_REPO].commit
    assert model.path == app_paths.models / "tiny-llama-cpu-fp32"
    assert (model.path / "model.onnx.data").read_bytes() == (
        TINY_LLAMA / "model.onnx.data").read_bytes()
    assert set(model.manifest) == {p.name for p in TINY_LLAMA.iterdir()}
    # The checksums recorded are the content's: verify passes now and catches a change later.
    code, out, _ = run(capsys, "models", "verify", model.id)
    assert code == 0, out
    assert "checksums match" in out

    code, _, err = run(capsys, "models", "download", LLAMA_REPO, "--subfolder", LLAMA_SUBFOLDER)
    assert code == 1
    assert "already installed as 'tiny-llama-cpu-fp32'" in err


def test_download_a_repo_with_several_builds(capsys: pytest.CaptureFixture[str],
                                             hub: HubServer, app_paths: AppPaths) -> None:
    code, _, err = run(capsys, "models", "download", "someone/two-builds")
    assert code == 1
    assert "choose one with --subfolder: cpu, cpu-copy" in err
    assert not any(r.file for r in hub.requests), "no file was fetched"

    model = run_json(capsys, "models", "download", "someone/two-builds", "--subfolder", "cpu")
    assert isinstance(model, dict)
    assert model["catalog_id"] is None
    assert model["name"] == "two-builds (cpu)"
    assert model["subfolder"] == "cpu"

    code, _, err = run(capsys, "models", "download", "someone/not-onnx")
    assert code == 1
    assert "not a model for ONNX Runtime GenAI" in err
    assert [m.id for m in ModelLibrary(app_paths).list()] == [model["id"]]


def test_download_refused_offline(capsys: pytest.CaptureFixture[str], hub: HubServer,
                                  app_paths: AppPaths) -> None:
    from app.core.settings import Settings, SettingsStore, update

    SettingsStore(app_paths).save(update(Settings(), {"privacy.offline_mode": True}))
    for argv in (("download", "tiny-llama"), ("search", "tiny")):
        code, _, err = run(capsys, "models", *argv)
        assert code == 1
        assert "Offline mode is on" in err
    assert hub.requests == [], "nothing was sent"


def test_download_gated_needs_a_token(capsys: pytest.CaptureFixture[str], hub: HubServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "models", "download", "someone/gated-model")
    assert code == 1
    assert "token" in err
    monkeypatch.setenv("HF_TOKEN", "hf_valid")
    code, out, err = run(capsys, "models", "download", "someone/gated-model")
    assert code == 0, err
    assert "hf_valid" not in out + err, "the token is never printed"


def test_download_corrupted_file_is_not_installed(capsys: pytest.CaptureFixture[str],
                                                  hub: HubServer, app_paths: AppPaths) -> None:
    hub.corrupt.add(f"{LLAMA_SUBFOLDER}/model.onnx.data")
    code, _, err = run(capsys, "models", "download", "tiny-llama")
    assert code == 1
    assert "model.onnx.data" in err
    assert ModelLibrary(app_paths).list() == []
    assert not (app_paths.models / "tiny-llama-cpu-fp32").exists()
