"""The curated model catalog (`models/catalog.json`): which ONNX Runtime GenAI models Hearth offers,
where each execution provider's build lives in its Hugging Face repository, and what it needs.

The file is data, validated here into frozen dataclasses; a broken file is a `CatalogError` with
the place and the problem, never a KeyError deep in the UI. Entries are listed in order of
preference: `hardware.recommend` takes the first that fits.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args

from app.core.engine import ReplyFormat
from app.core.errors import AppError

CATALOG_PATH = Path(__file__).resolve().parents[2] / "models" / "catalog.json"
"""The shipped catalog, beside the `app` package (the installer copies `models/` with it)."""
CATALOG_ENV = "HEARTH_CATALOG"
"""A catalog file to use instead of the shipped one (demos and tests with the tiny models)."""
CATALOG_SCHEMA = 1
CATALOG_PROVIDERS = ("cuda", "dml", "cpu", "webgpu")
"""Providers a variant may be built for; `webgpu` builds are listed but the app cannot run them
yet (app.core.engine.PROVIDERS)."""
REPLY_FORMATS: tuple[str, ...] = get_args(ReplyFormat)


class CatalogError(AppError):
    """The model catalog file is missing or malformed."""


@dataclass(frozen=True)
class Variant:
    """One build of a model for one or more execution providers (a sub-folder of its repo)."""

    providers: tuple[str, ...]
    subfolder: str
    size_bytes: int
    """Approximate download size."""
    ram_bytes: int
    """System memory needed to run it (on the CPU: the whole model)."""
    vram_bytes: int
    """GPU memory needed; 0 for CPU builds."""


@dataclass(frozen=True)
class CatalogEntry:
    """A curated model and its builds."""

    id: str
    name: str
    repo: str
    licence: str
    reply_format: ReplyFormat
    context_tokens: int
    description_en: str
    description_ja: str
    notes: str
    variants: tuple[Variant, ...]

    def variant_for(self, provider: str) -> Variant | None:
        """The build for `provider` (cuda, dml, cpu, webgpu), or None if none is published."""
        return next((v for v in self.variants if provider in v.providers), None)

    def description(self, language: str = "en") -> str:
        """The one-line description in `language` (ja or en; anything else gets English)."""
        return self.description_ja if language.startswith("ja") else self.description_en


@dataclass(frozen=True)
class EmbedderEntry:
    """A sentence-embedding model for document search (run with onnxruntime, not GenAI)."""

    id: str
    name: str
    repo: str
    subfolder: str
    files: tuple[str, ...]
    """Only these files of the sub-folder are fetched (repos carry several exports)."""
    size_bytes: int
    licence: str
    dims: int
    max_tokens: int
    query_prefix: str
    passage_prefix: str
    description_en: str
    description_ja: str

    def description(self, language: str = "en") -> str:
        """The one-line description in `language` (ja or en; anything else gets English)."""
        return self.description_ja if language.startswith("ja") else self.description_en


@dataclass(frozen=True)
class Catalog:
    """The validated catalog, entries in order of preference."""

    entries: tuple[CatalogEntry, ...]
    embedders: tuple[EmbedderEntry, ...] = ()
    """Document-search embedders, the default first."""

    def get(self, entry_id: str) -> CatalogEntry:
        """The entry with this id; raises CatalogError if there is none."""
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise CatalogError(f"No model {entry_id!r} in the catalog.")

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate a catalog file: `path`, else $HEARTH_CATALOG, else the shipped one."""
    source = path or Path(os.environ.get(CATALOG_ENV) or CATALOG_PATH)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise CatalogError(f"The model catalog {source} cannot be read: {exc.strerror or exc}.",
                           detail=repr(exc)) from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"The model catalog {source} is not valid JSON: {exc}.",
                           detail=repr(exc)) from exc
    try:
        return parse_catalog(data)
    except CatalogError as exc:
        raise CatalogError(f"The model catalog {source} is damaged: {exc.user_message}",
                           detail=exc.detail) from exc


def parse_catalog(data: object) -> Catalog:
    """Validate decoded catalog JSON; raises CatalogError naming the first problem."""
    root = _obj(data, "the catalog")
    if root.get("schema") != CATALOG_SCHEMA:
        raise CatalogError(f"unsupported schema {root.get('schema')!r} (expected "
                           f"{CATALOG_SCHEMA}).")
    models = root.get("models")
    if not isinstance(models, list) or not models:
        raise CatalogError("'models' must be a non-empty list.")
    entries = tuple(_entry(item, i) for i, item in enumerate(models))
    ids = [e.id for e in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogError(f"duplicate model ids: {', '.join(duplicates)}.")
    embedders = root.get("embedders", [])
    if not isinstance(embedders, list):
        raise CatalogError("'embedders' must be a list.")
    return Catalog(entries, tuple(_embedder(item, i) for i, item in enumerate(embedders)))


def _embedder(item: object, index: int) -> EmbedderEntry:
    where = f"embedders[{index}]"
    raw = _obj(item, where)
    embedder_id = _str(raw, "id", where)
    where = f"embedder {embedder_id!r}"
    files = raw.get("files")
    if (not isinstance(files, list) or not files
            or not all(isinstance(f, str) and f and ".." not in f for f in files)):
        raise CatalogError(f"{where}: 'files' must list the file names to fetch.")
    description = _obj(raw.get("description"), f"{where}: description")
    prefixes = _obj(raw.get("prefixes", {}), f"{where}: prefixes")
    return EmbedderEntry(
        id=embedder_id,
        name=_str(raw, "name", where),
        repo=_repo(_str(raw, "repo", where), where),
        subfolder=str(raw.get("subfolder", "")),
        files=tuple(files),
        size_bytes=_int(raw, "size_bytes", where, minimum=1),
        licence=_str(raw, "licence", where),
        dims=_int(raw, "dims", where, minimum=1),
        max_tokens=_int(raw, "max_tokens", where, minimum=1),
        query_prefix=str(prefixes.get("query", "")),
        passage_prefix=str(prefixes.get("passage", "")),
        description_en=_str(description, "en", f"{where}: description"),
        description_ja=_str(description, "ja", f"{where}: description"),
    )


def _entry(item: object, index: int) -> CatalogEntry:
    where = f"models[{index}]"
    raw = _obj(item, where)
    entry_id = _str(raw, "id", where)
    where = f"model {entry_id!r}"
    reply = _str(raw, "reply_format", where)
    if reply not in REPLY_FORMATS:
        raise CatalogError(f"{where}: reply_format {reply!r} is not one of "
                           f"{', '.join(REPLY_FORMATS)}.")
    description = _obj(raw.get("description"), f"{where}: description")
    variants = raw.get("variants")
    if not isinstance(variants, list) or not variants:
        raise CatalogError(f"{where}: 'variants' must be a non-empty list.")
    notes = raw.get("notes", "")
    if not isinstance(notes, str):
        raise CatalogError(f"{where}: 'notes' must be text.")
    return CatalogEntry(
        id=entry_id,
        name=_str(raw, "name", where),
        repo=_repo(_str(raw, "repo", where), where),
        licence=_str(raw, "licence", where),
        reply_format=cast(ReplyFormat, reply),
        context_tokens=_int(raw, "context_tokens", where, minimum=1),
        description_en=_str(description, "en", f"{where}: description"),
        description_ja=_str(description, "ja", f"{where}: description"),
        notes=notes,
        variants=tuple(_variant(v, f"{where}: variants[{i}]") for i, v in enumerate(variants)),
    )


def _variant(item: object, where: str) -> Variant:
    raw = _obj(item, where)
    providers = raw.get("providers")
    if (not isinstance(providers, list) or not providers
            or any(p not in CATALOG_PROVIDERS for p in providers)):
        raise CatalogError(f"{where}: 'providers' must list some of "
                           f"{', '.join(CATALOG_PROVIDERS)}.")
    subfolder = _str(raw, "subfolder", where)
    if subfolder.startswith("/") or ".." in subfolder.split("/") or "\\" in subfolder:
        raise CatalogError(f"{where}: subfolder {subfolder!r} must be a relative path.")
    return Variant(
        providers=tuple(str(p) for p in providers),
        subfolder=subfolder,
        size_bytes=_int(raw, "size_bytes", where, minimum=1),
        ram_bytes=_int(raw, "ram_bytes", where, minimum=0),
        vram_bytes=_int(raw, "vram_bytes", where, minimum=0),
    )


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CatalogError(f"{where} must be a JSON object.")
    return cast(dict[str, Any], value)


def _str(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: {key!r} is missing or empty.")
    return value


def _int(raw: dict[str, Any], key: str, where: str, *, minimum: int) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CatalogError(f"{where}: {key!r} must be a whole number >= {minimum}.")
    return value


def _repo(repo: str, where: str) -> str:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise CatalogError(f"{where}: repo {repo!r} must look like owner/name.")
    return repo
