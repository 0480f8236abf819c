"""The ONNX sentence embedder, run for real (all-MiniLM-L6-v2 int8 on onnxruntime)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.documents.embedder import (
    CONFIG_FILE,
    EmbedderConfig,
    OnnxEmbedder,
    approximate_tokens,
    find_model_files,
)
from app.core.documents.extract import extract
from app.core.errors import ModelLoadError
from tests.embedders import MINILM_SHA256, MINILM_TOKENIZER, minilm, minilm_folder, minilm_onnx

DOCUMENTS = Path(__file__).parents[1] / "fixtures" / "documents"


def test_the_test_model_is_the_published_file() -> None:
    digest = hashlib.sha256(minilm_onnx().read_bytes()).hexdigest()
    assert digest == MINILM_SHA256
    assert minilm().id.startswith(f"all-MiniLM-L6-v2@{MINILM_SHA256[:16]}-")


def test_vectors_are_normalised_float32_rows_in_input_order() -> None:
    embedder = minilm()
    texts = ["The coolant pump was replaced in March.", "短い文。",
             "A much longer sentence about the maintenance budget of the research reactor, "
             "which is padded less than the others in its batch."]
    vectors = embedder.embed_passages(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, embedder.dim) == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # Batched (padded, reordered by length) and alone give the same vector for each text.
    for text, row in zip(texts, vectors, strict=True):
        np.testing.assert_allclose(embedder.embed_passages([text])[0], row, atol=2e-5)
    assert embedder.embed_passages([]).shape == (0, 384)


def test_similar_meanings_are_closer_than_unrelated_ones() -> None:
    embedder = minilm()
    a, b, c = embedder.embed_passages([
        "The coolant pump was replaced in March.",
        "In spring they swapped the cooling circulation equipment.",
        "Fire drills happen on the first Monday of every quarter."])
    assert float(a @ b) > float(a @ c) + 0.15
    query = embedder.embed_query("When was the pump changed?")
    assert query.shape == (384,)
    assert float(query @ a) > float(query @ c)


def test_long_texts_are_not_cut_at_the_tokenizer_files_128_tokens() -> None:
    embedder = minilm()
    # tokenizer.json as published truncates at 128 and pads to 128: both must be overridden.
    assert json.loads(MINILM_TOKENIZER.read_text())["truncation"]["max_length"] == 128
    assert embedder.count_tokens("word " * 300) == 300
    assert embedder.max_tokens == 256 - 2  # [CLS] and [SEP]
    shared = "The inspection of valve assembly number seven went well. " * 14  # ~140 tokens
    assert 128 < embedder.count_tokens(shared) < embedder.max_tokens - 20
    first, second = embedder.embed_passages([shared + "The reactor is in Norway.",
                                             shared + "Bananas are yellow fruit."])
    # Past token 128 the texts differ: with truncation at 128 the vectors would be identical.
    assert float(first @ second) < 0.999


def test_counting_leaves_out_special_tokens() -> None:
    embedder = minilm()
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("hello world") == 2
    assert embedder.count_tokens_batch(["hello world", "", "word " * 5]) == [2, 0, 5]


def test_from_folder_reads_the_hugging_face_layout(tmp_path: Path) -> None:
    folder = minilm_folder(tmp_path)  # tokenizer.json at the root, onnx/model.onnx
    embedder = OnnxEmbedder.from_folder(folder)
    assert embedder.id == minilm().id  # same file, same settings (found by the folder's name)
    np.testing.assert_allclose(embedder.embed_query("pump"), minilm().embed_query("pump"),
                               atol=1e-6)
    flat = minilm_folder(tmp_path / "flat", layout="flat")
    assert OnnxEmbedder.from_folder(flat).id == embedder.id


def test_e5_style_prefixes_come_from_the_models_settings(tmp_path: Path) -> None:
    # The same network in a folder named like e5: "query: " and "passage: " are prepended.
    folder = minilm_folder(tmp_path, name="multilingual-e5-small")
    e5_style = OnnxEmbedder.from_folder(folder)
    assert e5_style.config.query_prefix == "query: "
    assert e5_style.id != minilm().id  # other settings make other vectors
    plain = minilm()
    np.testing.assert_allclose(e5_style.embed_query("pump"),
                               plain.embed_passages(["query: pump"])[0], atol=1e-5)
    np.testing.assert_allclose(e5_style.embed_passages(["pump"])[0],
                               plain.embed_passages(["passage: pump"])[0], atol=1e-5)
    # The prefix's tokens come out of the passage budget.
    assert e5_style.max_tokens == 512 - 2 - plain.count_tokens("passage: ")


def test_a_settings_file_in_the_folder_wins(tmp_path: Path) -> None:
    folder = minilm_folder(tmp_path, name="some-model")
    (folder / CONFIG_FILE).write_text(json.dumps(
        {"query_prefix": "search_query: ", "passage_prefix": "search_document: ",
         "max_tokens": 128}))
    embedder = OnnxEmbedder.from_folder(folder)
    assert embedder.config == EmbedderConfig("search_query: ", "search_document: ", 128)
    assert embedder.max_tokens == 128 - 2 - embedder.count_tokens("search_document: ")
    (folder / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ModelLoadError, match="settings"):
        OnnxEmbedder.from_folder(folder)


def test_several_exports_pick_the_preferred_one(tmp_path: Path) -> None:
    onnx = tmp_path / "e5" / "onnx"
    onnx.mkdir(parents=True)
    for name in ("model_O4.onnx", "model_qint8_avx512_vnni.onnx", "tokenizer.json"):
        (onnx / name).write_bytes(b"x")
    model, tokenizer = find_model_files(tmp_path / "e5")
    assert (model.name, tokenizer) == ("model_qint8_avx512_vnni.onnx", onnx / "tokenizer.json")
    (onnx / "model.onnx").write_bytes(b"x")
    assert find_model_files(tmp_path / "e5")[0].name == "model.onnx"


def test_broken_folders_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        OnnxEmbedder.from_folder(tmp_path / "nothing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"no tokenizer\.json"):
        OnnxEmbedder.from_folder(empty)
    (empty / "tokenizer.json").write_bytes(MINILM_TOKENIZER.read_bytes())
    with pytest.raises(ModelLoadError, match=r"no \.onnx file"):
        OnnxEmbedder.from_folder(empty)
    (empty / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match="damaged or incomplete"):
        OnnxEmbedder.from_folder(empty)
    (empty / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="tokenizer"):
        OnnxEmbedder.from_folder(empty)


@pytest.mark.parametrize("name", ["aurora_report.pdf", "it_guide_ja.pdf", "経理規程.docx",
                                  "project_handbook.docx", "inventory.xlsx"])
def test_the_approximate_count_errs_high(name: str) -> None:
    # Chunks cut without a model must still fit the model's window when one is added later.
    doc = extract(DOCUMENTS / name)
    real = minilm()
    for block in doc.blocks:
        assert approximate_tokens(block.text) >= real.count_tokens(block.text), block.text
