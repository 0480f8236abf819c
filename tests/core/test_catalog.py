"""The shipped model catalog validates, and a broken catalog is a clear error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from app.core.catalog import CATALOG_PATH, CatalogError, load_catalog, parse_catalog
from app.core.engine import PROVIDERS

REQUIRED = {"gpt-oss-20b", "phi-4-mini-instruct", "phi-3.5-mini-instruct",
            "deepseek-r1-distill-qwen-1.5b", "llama-3.2-3b-instruct", "qwen3-8b"}


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    return data


def test_shipped_catalog_has_the_required_entries() -> None:
    catalog = load_catalog()
    assert {e.id for e in catalog} >= REQUIRED
    for entry in catalog:
        assert entry.description_en
        assert entry.description_ja
        assert entry.variant_for("cpu") is not None, entry.id
        assert any(entry.variant_for(p) for p in PROVIDERS if p != "cpu"), entry.id
        for v in entry.variants:
            assert v.size_bytes > 100_000_000
            assert (v.vram_bytes == 0) == (v.providers == ("cpu",))


def test_gpt_oss_has_cuda_and_cpu_but_no_directml() -> None:
    entry = load_catalog().get("gpt-oss-20b")
    assert entry.repo == "onnxruntime/gpt-oss-20b-onnx"
    assert entry.reply_format == "harmony"
    cuda = entry.variant_for("cuda")
    cpu = entry.variant_for("cpu")
    assert cuda is not None
    assert cuda.subfolder == "cuda/cuda-int4-kquant-block-32-mixed"
    assert cpu is not None
    assert cpu.subfolder == "cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4"
    assert entry.variant_for("webgpu") is not None
    assert entry.variant_for("dml") is None


def test_phi4_gpu_build_serves_cuda_and_directml() -> None:
    entry = load_catalog().get("phi-4-mini-instruct")
    assert entry.variant_for("dml") is entry.variant_for("cuda")
    gpu = entry.variant_for("dml")
    assert gpu is not None
    assert gpu.subfolder == "gpu/gpu-int4-rtn-block-32"


def test_unknown_id_is_an_app_error() -> None:
    with pytest.raises(CatalogError, match="nope"):
        load_catalog().get("nope")


@pytest.mark.parametrize("content", [b"", b"not json {", b"\xff\xfe\x00garbage", b"[]", b"42"])
def test_garbage_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "catalog.json"
    path.write_bytes(content)
    with pytest.raises(CatalogError, match="model catalog") as info:
        load_catalog(path)
    assert str(path) in info.value.user_message


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(tmp_path / "absent.json")


def _broken(edit: str) -> dict[str, Any]:
    data = copy.deepcopy(shipped())
    first = data["models"][0]
    match edit:
        case "no-repo":
            del first["repo"]
        case "bad-repo":
            first["repo"] = "just-a-name"
        case "no-variants":
            first["variants"] = []
        case "bad-provider":
            first["variants"][0]["providers"] = ["tpu"]
        case "size-text":
            first["variants"][0]["size_bytes"] = "12 GB"
        case "escape":
            first["variants"][0]["subfolder"] = "../../etc"
        case "format":
            first["reply_format"] = "chatml"
        case "no-ja":
            del first["description"]["ja"]
        case "duplicate":
            data["models"].append(copy.deepcopy(first))
        case "schema":
            data["schema"] = 99
    return data


@pytest.mark.parametrize(("edit", "message"), [
    ("no-repo", "'repo' is missing"), ("bad-repo", "owner/name"),
    ("no-variants", "'variants'"), ("bad-provider", "'providers'"),
    ("size-text", "'size_bytes' must be a whole number"), ("escape", "relative path"),
    ("format", "reply_format"), ("no-ja", "'ja' is missing"), ("duplicate", "duplicate"),
    ("schema", "schema"),
])
def test_missing_or_wrong_fields_name_the_problem(edit: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message) as info:
        parse_catalog(_broken(edit))
    if edit not in ("duplicate", "schema"):
        assert "gpt-oss-20b" in info.value.user_message or "models[0]" in info.value.user_message


def test_broken_file_message_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(_broken("no-repo")), encoding="utf-8")
    with pytest.raises(CatalogError, match="is damaged: model 'gpt-oss-20b': 'repo'"):
        load_catalog(path)


def test_shipped_catalog_lists_a_multilingual_embedder() -> None:
    embedder = load_catalog().embedders[0]
    assert embedder.id == "multilingual-e5-small"
    assert embedder.query_prefix == "query: "
    assert embedder.passage_prefix == "passage: "
    assert "tokenizer.json" in embedder.files
    assert any(f.endswith(".onnx") for f in embedder.files)


def test_embedder_without_files_is_refused() -> None:
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    data["embedders"][0]["files"] = []
    with pytest.raises(CatalogError, match="'files'"):
        parse_catalog(data)


def test_catalog_can_be_swapped_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = Path(__file__).parents[1] / "fixtures" / "catalog-tiny.json"
    monkeypatch.setenv("HEARTH_CATALOG", str(tiny))
    assert [e.id for e in load_catalog()] == ["tiny-gptoss", "tiny-llama"]
    monkeypatch.delenv("HEARTH_CATALOG")
    assert load_catalog().entries[0].id == "gpt-oss-20b"
