"""Sentence embeddings for document search: an ONNX encoder run on `onnxruntime`.

    embedder = OnnxEmbedder.from_folder(paths.models / "multilingual-e5-small")
    vectors = embedder.embed_passages(["The coolant pump was replaced in March."])
    query = embedder.embed_query("When was the pump changed?")
    scores = vectors @ query          # cosine: the vectors are L2-normalised

The runtime is the `onnxruntime` package that onnxruntime-genai already depends on: a second
onnxruntime flavour in one environment breaks both (documents notes). The tokenizer comes from
the model's `tokenizer.json` (the `tokenizers` package), with truncation and padding set here
explicitly: all-MiniLM's file silently cuts every text at 128 tokens otherwise.

Models differ in small ways a per-model `EmbedderConfig` records: e5 models expect "query: " and
"passage: " prefixes, and each has its own length limit. `Embedder.max_tokens` is the budget of a
passage's own tokens (without the prefix and the special tokens), which is what `count_tokens`
measures and what chunking packs to, so a chunk is never truncated when it is embedded.

`id` names the model and a hash of its ONNX file and configuration: the index records which
embedder made each vector and re-embeds when it changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from app.core.errors import DocumentError, ModelLoadError

if TYPE_CHECKING:
    import onnxruntime as ort
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

CONFIG_FILE = "hearth-embedder.json"
"""Optional file in a model folder holding its `EmbedderConfig` (the model manager writes it from
the catalog entry); keys as the dataclass fields."""

ONNX_PREFERENCE = ("model.onnx", "model_quantized.onnx", "model_qint8_avx512_vnni.onnx",
                   "model_int8.onnx", "model_O4.onnx")
"""Which ONNX file a folder holding several exports is run with (Hugging Face repos often carry
fp32, quantised and optimised ones side by side). Any single .onnx file is used as it is."""

DEFAULT_BATCH = 32
DEFAULT_THREADS = 2
"""Intra-op threads: embedding runs beside the GUI and maybe a chat model, so it takes two cores
rather than all of them."""


@dataclass(frozen=True)
class EmbedderConfig:
    """What a model needs beyond its files: prefixes, length limit, pooling."""

    query_prefix: str = ""
    passage_prefix: str = ""
    max_tokens: int = 256
    """The most tokens (special tokens and prefix included) the model reads at once."""
    pooling: str = "mean"
    """"mean" over the attention mask, or "cls" (the first token)."""


KNOWN_MODELS: dict[str, EmbedderConfig] = {
    "multilingual-e5-small": EmbedderConfig("query: ", "passage: ", 512),
    "multilingual-e5-base": EmbedderConfig("query: ", "passage: ", 512),
    "e5-small-v2": EmbedderConfig("query: ", "passage: ", 512),
    # Trained on 128-token pairs; sentence-transformers reads up to 256.
    "all-MiniLM-L6-v2": EmbedderConfig("", "", 256),
    "bge-small-en-v1.5": EmbedderConfig(
        "Represent this sentence for searching relevant passages: ", "", 512, "cls"),
}
"""Configurations for models known by (a part of) their folder name."""


class Embedder(Protocol):
    """What chunking and the index need of an embedding model."""

    @property
    def id(self) -> str:
        """The model's identity (name, file hash, configuration): vectors from embedders with
        different ids are not comparable."""
        ...

    @property
    def dim(self) -> int:
        """Length of each vector."""
        ...

    @property
    def max_tokens(self) -> int:
        """The most tokens (as `count_tokens` counts) a passage may have without truncation."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` is, without prefix and special tokens."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """The L2-normalised float32 vector of a search query."""
        ...


def find_model_files(folder: Path) -> tuple[Path, Path]:
    """The ONNX file and tokenizer.json of a model folder: either at its root or in `onnx/`
    (the layout of Hugging Face repos such as intfloat/multilingual-e5-small)."""
    if not folder.is_dir():
        raise ModelLoadError(f"The embedding model folder {folder} does not exist.",
                             detail=str(folder))
    tokenizer = next((p for p in (folder / "tokenizer.json", folder / "onnx" / "tokenizer.json")
                      if p.is_file()), None)
    if tokenizer is None:
        raise ModelLoadError(
            f"The embedding model in {folder} has no tokenizer.json. Download the model again.",
            detail=str(folder))
    for where in (folder, folder / "onnx"):
        found = sorted(p for p in where.glob("*.onnx") if p.is_file()) if where.is_dir() else []
        if len(found) == 1:
            return found[0], tokenizer
        names = {p.name: p for p in found}
        for name in ONNX_PREFERENCE:
            if name in names:
                return names[name], tokenizer
        if found:
            return found[0], tokenizer
    raise ModelLoadError(
        f"The embedding model in {folder} has no .onnx file. Download the model again.",
        detail=str(folder))


def _config_for(folder: Path) -> EmbedderConfig:
    """The folder's own config file, else a known model matched by name, else defaults."""
    path = folder / CONFIG_FILE
    if path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return EmbedderConfig(
                query_prefix=str(raw.get("query_prefix", "")),
                passage_prefix=str(raw.get("passage_prefix", "")),
                max_tokens=int(raw.get("max_tokens", 256)),
                pooling=str(raw.get("pooling", "mean")))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ModelLoadError(f"The embedding model settings {path} cannot be read.",
                                 detail=repr(exc)) from exc
    # Longest name first: "multilingual-e5-small" must not match as "e5-small-v2"'s family.
    for name in sorted(KNOWN_MODELS, key=len, reverse=True):
        if name.lower() in folder.name.lower():
            return KNOWN_MODELS[name]
    return EmbedderConfig()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _pad_id(tokenizer: Tokenizer) -> tuple[int, str]:
    for token in ("[PAD]", "<pad>", "<|padding|>", "<|endoftext|>"):
        pad = tokenizer.token_to_id(token)
        if pad is not None:
            return pad, token
    return 0, ""


class OnnxEmbedder:
    """A sentence-embedding model: ONNX encoder, mean (or CLS) pooling, L2 normalisation.

    Thread-safe: the session's `run` may be called from several threads, and each call tokenises
    with its own encodings.
    """

    def __init__(self, model: Path, tokenizer: Path, *, name: str,
                 config: EmbedderConfig = EmbedderConfig(), threads: int = DEFAULT_THREADS,
                 batch_size: int = DEFAULT_BATCH) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.config = config
        self.batch_size = max(1, batch_size)
        try:
            self._counter = Tokenizer.from_file(str(tokenizer))
            self._tokenizer = Tokenizer.from_file(str(tokenizer))
        except Exception as exc:  # the Rust side raises plain Exception on a bad file
            raise ModelLoadError(f"The embedding model's tokenizer {tokenizer} cannot be read.",
                                 detail=repr(exc)) from exc
        # Counting must see every token: no truncation, no padding.
        self._counter.no_truncation()
        self._counter.no_padding()
        specials = self._tokenizer.post_processor.num_special_tokens_to_add(False) \
            if self._tokenizer.post_processor is not None else 0
        self._prefix_tokens = max(self._count(config.passage_prefix),
                                  self._count(config.query_prefix))
        self._max_tokens = config.max_tokens - specials - self._prefix_tokens
        if self._max_tokens < 16:
            raise ModelLoadError(f"The embedding model {name} is configured with too few tokens "
                                 f"({config.max_tokens}).")
        self._tokenizer.enable_truncation(max_length=config.max_tokens)
        pad_id, pad_token = _pad_id(self._tokenizer)
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT warns about unused initialisers
        # Idle threads sleep instead of spinning: the chat model and the GUI share these cores,
        # and with them busy a spinning pool made a query's embedding twice as slow (measured:
        # 17 ms against 8 ms on a loaded 2-core machine).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session: ort.InferenceSession = ort.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types
            raise ModelLoadError(f"The embedding model {model.name} cannot be loaded: it may be "
                                 "damaged or incomplete. Download it again.",
                                 detail=repr(exc)) from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self._inputs
        if missing:
            raise ModelLoadError(f"{model.name} is not a sentence-embedding model (it has no "
                                 f"{', '.join(sorted(missing))} input).")
        outputs = self._session.get_outputs()
        by_name = {o.name: o for o in outputs}
        self._pooled = "sentence_embedding" in by_name
        self._output = "sentence_embedding" if self._pooled else (
            "last_hidden_state" if "last_hidden_state" in by_name else outputs[0].name)
        shape = by_name[self._output].shape
        if not isinstance(shape[-1], int):
            # A dynamic width: ask the model once.
            self._dim = int(self._run(["dimension probe"]).shape[1])
        else:
            self._dim = int(shape[-1])
        settings = json.dumps({"config": config.__dict__, "output": self._output},
                              sort_keys=True).encode()
        self._id = (f"{name}@{_file_sha256(model)[:16]}"
                    f"-{hashlib.sha256(settings).hexdigest()[:8]}")
        log.info("Embedder %s loaded from %s (%d dims, %d tokens)", self._id, model, self._dim,
                 self._max_tokens)

    @classmethod
    def from_folder(cls, folder: str | Path, *, config: EmbedderConfig | None = None,
                    name: str | None = None, **kwargs: Any) -> OnnxEmbedder:
        """Load a model folder: tokenizer.json and an .onnx file at its root or in `onnx/`.
        Without `config`, the folder's hearth-embedder.json or a known model's settings apply."""
        folder = Path(folder)
        model, tokenizer = find_model_files(folder)
        return cls(model, tokenizer, name=name or folder.name,
                   config=config or _config_for(folder), **kwargs)

    # -- the Embedder protocol ---------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        return self._count(text)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        """`count_tokens` for many texts at once (the tokenizer runs them in parallel)."""
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(list(texts),
                                                                add_special_tokens=False)]

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        prefix = self.config.passage_prefix
        return self._embed([prefix + t for t in texts])

    def embed_query(self, text: str) -> Vectors:
        return self._embed([self.config.query_prefix + text]).reshape(-1)

    # -- running -----------------------------------------------------------------------------------
    def _count(self, text: str) -> int:
        if not text:
            return 0
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def _embed(self, texts: list[str]) -> Vectors:
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        # Similar lengths batched together waste less on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            out[rows] = self._run([texts[i] for i in rows])
        return out

    def _run(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        try:
            (hidden,) = self._session.run([self._output], feed)
        except Exception as exc:  # onnxruntime's RuntimeException family
            raise DocumentError("The embedding model failed while reading the text. Try again, "
                                "or choose another embedding model.", detail=repr(exc)) from exc
        hidden = np.asarray(hidden, dtype=np.float32)
        if self._pooled or hidden.ndim == 2:
            pooled = hidden
        elif self.config.pooling == "cls":
            pooled = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normalised: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
        return normalised


# --- Without an embedding model -------------------------------------------------------------------

_CJK_OR_WIDE = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")
_WORD = re.compile(r"[^\W_]+")
_OTHER = re.compile(r"[^\w\s]")


def approximate_tokens(text: str) -> int:
    """A cheap token count that errs high for the tokenizers embedders use, for chunking when no
    embedding model is installed: 1 per CJK or Hangul character (WordPiece averages 0.93 on
    Japanese), 1 per 4 characters of a word, rounded up (WordPiece averages 0.19 per character
    of English), 1 per punctuation mark, plus an eighth for acronyms and rare names that
    WordPiece splits finer."""
    cjk = len(_CJK_OR_WIDE.findall(text))
    rest = _CJK_OR_WIDE.sub(" ", text) if cjk else text
    words = sum((len(w) + 3) // 4 for w in _WORD.findall(rest))
    count = cjk + words + len(_OTHER.findall(rest))
    return count + (count + 7) // 8
