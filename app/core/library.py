"""The installed models: what is on disk, where it came from, and whether it is still intact.

A model is a folder that ONNX Runtime GenAI can load (genai_config.json, the ONNX files it names,
their external data, a tokenizer). `validate_model_folder` checks one before it is imported and
names the file that is missing. `ModelLibrary` keeps the register in
`<data>/models/library.json`:

- Downloads (app.core.downloads) finish a folder in the models folder and register it with
  `add_downloaded`, with the size and SHA-256 of every file, so `verify` can tell later whether a
  byte changed.
- `import_folder` copies a folder from elsewhere (a USB stick) into the models folder through a
  hidden staging folder and one `os.replace`, so a failed or cancelled copy leaves nothing; with
  `link=True` the folder is registered where it is.
- The file is written atomically and read again before every change, so the window and the
  `hearth models` command can share it. A damaged file is kept aside and the register is rebuilt
  from the model folders found in the models folder, with a warning, never a crash.
- A model whose folder disappeared (an unplugged drive) is listed as `missing`.

`load_with_report` loads a model and says what it cost (provider, seconds, memory);
`cpu_alternative` finds the CPU build to offer when a model is too big for the GPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from app.core.engine import PROVIDER_LABELS, ReplyFormat, reply_format
from app.core.errors import ModelLibraryError, ModelLoadError
from app.core.files import Cancellable, Cancelled, check_cancel, copy_file_hashed, sha256_file
from app.core.paths import AppPaths
from app.core.settings import write_atomic

if TYPE_CHECKING:
    from app.core.catalog import Catalog, CatalogEntry, Variant
    from app.core.engine import LoadedModel
    from app.core.hardware import Hardware

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of library.json this code writes."""
LIBRARY_FILE = "library.json"
Source = Literal["download", "import"]
Progress = Callable[[int, int], None]
"""progress(bytes_done, bytes_total)."""

_SPACE_MARGIN = 256 * 1024 * 1024
"""Room to leave on the disk after an import: a disk filled to the last byte breaks other
programs (and the model's own cache files)."""
_STAGING_PREFIX = ".import-"
_TRASH_PREFIX = ".trash-"
_STALE_STAGING_S = 12 * 3600
"""A staging folder this old was left by a crash, not by an import still copying."""
_SCAN_LIMIT = 64 * 1024 * 1024
"""ONNX files up to this size are scanned for the external-data files they name. Models with
external data keep only the graph in the .onnx file (kilobytes to a few MB); a bigger one holds
its weights inline, so reading it would be slow and find nothing."""
_LOCATION = b"\x0a\x08location\x12"
"""Protobuf bytes of a TensorProto external_data entry {key: "location", value: <file>}."""
_DISCOVER_DEPTH = 3
_TOKENIZER_SETS = (("tokenizer.model",), ("spiece.model",), ("vocab.json", "merges.txt"))
"""Files that stand in for tokenizer.json beside tokenizer_config.json (SentencePiece, BPE)."""
_OOM_MARKERS = ("bad_alloc", "out of memory", "failed to allocate", "not enough memory",
                "cudaerrormemoryallocation", "e_outofmemory", "0x8007000e", "outofmemory")


# --- Checking a folder ------------------------------------------------------------------------

@dataclass(frozen=True)
class FolderCheck:
    """A folder that passed `validate_model_folder`, and what it holds."""

    path: Path
    model_type: str
    provider: str
    """The provider the build targets: cpu, cuda, dml, webgpu (or the runtime's own name)."""
    reply_format: ReplyFormat
    context_tokens: int
    """The model's context length from genai_config.json (0 when it does not say)."""
    size_bytes: int
    """All files in the folder, sub-folders included."""
    files: tuple[str, ...]
    """The files the model needs (relative, '/'-separated): config, ONNX, data, tokenizer."""

    @property
    def provider_label(self) -> str:
        """The provider as users know it."""
        return PROVIDER_LABELS.get(self.provider, self.provider)


def _unusable(message: str) -> ModelLibraryError:
    return ModelLibraryError(f"This folder is not a usable model: {message}")


def validate_model_folder(path: Path) -> FolderCheck:
    """Check that `path` holds a model ONNX Runtime GenAI can load; raise ModelLibraryError
    naming the missing or broken file otherwise.

    Checks: the folder; genai_config.json (present, parses, has a decoder); every ONNX file it
    names (decoder, pipeline stages, vision/speech/embedding sessions); the external-data files
    those ONNX files name (or `<file>.onnx.data` by convention); a tokenizer.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise _unusable(f"{path} does not exist (a removed drive or a mistyped path?).")
    if not path.is_dir():
        raise _unusable(f"{path.name} is a file, not a folder. Choose the folder that holds "
                        "genai_config.json.")
    config_file = path / "genai_config.json"
    if not config_file.is_file():
        hint = _config_below(path)
        raise _unusable(
            "genai_config.json is missing. "
            + (f"It is in the sub-folder {hint}: choose that folder instead." if hint else
               "Only ONNX Runtime GenAI models can be used (exports for Transformers.js or "
               "plain ONNX cannot)."))
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _unusable(f"genai_config.json is damaged ({exc}).") from exc
    model = config.get("model") if isinstance(config, dict) else None
    decoder = model.get("decoder") if isinstance(model, dict) else None
    if not isinstance(model, dict) or not isinstance(decoder, dict):
        raise _unusable("genai_config.json is damaged (it has no model.decoder section).")
    model = cast(dict[str, Any], model)

    needed: list[str] = ["genai_config.json"]
    problems: list[str] = []
    onnx_files = _named_files(model)
    if "filename" not in decoder:
        onnx_files.insert(0, "model.onnx")  # the runtime's default
    for name in dict.fromkeys(onnx_files):
        if not _inside(path, name):
            raise _unusable(f"genai_config.json names {name!r}, which is outside the folder.")
        problem = _file_problem(path, name, "genai_config.json names it")
        if problem:
            problems.append(problem)
            continue
        needed.append(name)
        for data in _external_data(path, name):
            if not _inside(path, data):
                raise _unusable(f"{name} refers to {data!r}, which is outside the folder.")
            problem = _file_problem(path, data, f"{Path(name).name} refers to it")
            if problem:
                problems.append(problem)
            else:
                needed.append(data)
    tokenizer, problem = _tokenizer_files(path)
    if problem:
        problems.append(problem)
    needed += tokenizer
    if problems:
        raise _unusable("; ".join(problems) + ".")

    provider = _build_provider(decoder)
    try:
        context = int(model.get("context_length") or 0)
    except (TypeError, ValueError):
        context = 0
    return FolderCheck(
        path=path, model_type=str(model.get("type", "")), provider=provider,
        reply_format=reply_format(path), context_tokens=max(context, 0),
        size_bytes=folder_size(path), files=tuple(dict.fromkeys(needed)))


def _config_below(path: Path) -> str | None:
    """The nearest sub-folder holding genai_config.json (a repo root chosen by mistake)."""
    with contextlib.suppress(OSError):
        for depth in range(1, _DISCOVER_DEPTH + 1):
            found = sorted(path.glob("/".join(["*"] * depth) + "/genai_config.json"))
            if found:
                return found[0].parent.relative_to(path).as_posix()
    return None


def _named_files(node: object) -> list[str]:
    """Every `filename` string in genai_config's model section, in order (decoder, pipeline
    stages, vision, speech and embedding sessions)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "filename" and isinstance(value, str) and value:
                found.append(value)
            else:
                found += _named_files(value)
    elif isinstance(node, list):
        for item in node:
            found += _named_files(item)
    return found


def _inside(folder: Path, name: str) -> bool:
    rel = Path(name)
    return not rel.is_absolute() and ".." not in rel.parts and not rel.drive


def _file_problem(folder: Path, name: str, why: str) -> str:
    target = folder / name
    if not target.is_file():
        return f"{name} is missing ({why})"
    try:
        if target.stat().st_size == 0:
            return f"{name} is empty (an interrupted copy or download?)"
    except OSError as exc:
        return f"{name} cannot be read ({exc.strerror or exc})"
    return ""


def _external_data(folder: Path, onnx_name: str) -> list[str]:
    """The external-data files an ONNX file names (relative to its folder, as in genai_config).

    Reads the protobuf bytes for `location` entries rather than importing `onnx` (not a
    dependency). Files too big to scan fall back to the `<name>.data` convention when present.
    """
    onnx = folder / onnx_name
    parent = Path(onnx_name).parent
    try:
        size = onnx.stat().st_size
        if size > _SCAN_LIMIT:
            data = onnx.with_name(onnx.name + ".data")
            return [(parent / data.name).as_posix()] if data.is_file() else []
        raw = onnx.read_bytes()
    except OSError:
        return []
    found: dict[str, None] = {}
    start = raw.find(_LOCATION)
    while start >= 0:
        pos = start + len(_LOCATION)
        length, pos = _varint(raw, pos)
        if length is not None and 0 < length < 4096:
            with contextlib.suppress(UnicodeDecodeError):
                found[(parent / raw[pos:pos + length].decode("utf-8")).as_posix()] = None
        start = raw.find(_LOCATION, pos)
    return list(found)


def _varint(raw: bytes, pos: int) -> tuple[int | None, int]:
    value = shift = 0
    while pos < len(raw) and shift < 35:
        byte = raw[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None, pos


def _tokenizer_files(folder: Path) -> tuple[list[str], str]:
    """(files, problem): tokenizer.json, or tokenizer_config.json with the files it loads."""
    if (folder / "tokenizer.json").is_file():
        extra = [n for n in ("tokenizer_config.json",) if (folder / n).is_file()]
        return ["tokenizer.json", *extra], ""
    if (folder / "tokenizer_config.json").is_file():
        for names in _TOKENIZER_SETS:
            if all((folder / n).is_file() for n in names):
                return ["tokenizer_config.json", *names], ""
        return [], ("tokenizer.json is missing (tokenizer_config.json alone does not hold "
                    "the vocabulary)")
    return [], "tokenizer.json is missing (the model needs its tokenizer)"


def _build_provider(decoder: dict[str, Any]) -> str:
    """The provider a build targets, from decoder.session_options.provider_options."""
    options = decoder.get("session_options")
    entries = options.get("provider_options") if isinstance(options, dict) else None
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict):
                for name in entry:
                    lowered = str(name).lower()
                    return "dml" if lowered in ("dml", "directml") else lowered
    return "cpu"


def folder_size(path: Path) -> int:
    """Bytes in all files under `path` (0 if it cannot be read)."""
    return sum(size for _, size in _walk_files(path))


def _walk_files(root: Path) -> Iterator[tuple[str, int]]:
    """(relative '/'-path, size) of every regular file under `root`; unreadable parts skipped."""
    for base, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(base) / name
            try:
                stat = full.stat()
            except OSError:
                continue
            if full.is_file():
                yield full.relative_to(root).as_posix(), stat.st_size


# --- The register -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ManifestEntry:
    """What a file of a model should be; sha256 is None where it was not recorded."""

    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class InstalledModel:
    """A model in the library."""

    id: str
    """A slug, unique in the library ("phi-4-mini-instruct-cpu-int4")."""
    name: str
    path: Path
    source: Source
    linked: bool
    """Registered where it is (outside the models folder); removing it never deletes files."""
    provider: str
    """The provider the build targets (cpu, cuda, dml, webgpu)."""
    reply_format: ReplyFormat
    size_bytes: int
    installed_at: float
    last_used_at: float | None = None
    repo: str | None = None
    subfolder: str | None = None
    revision: str | None = None
    catalog_id: str | None = None
    origin: str | None = None
    """The folder an import was copied from."""
    context_tokens: int = 0
    manifest: Mapping[str, ManifestEntry] = field(default_factory=dict, hash=False)
    """Relative path -> size and SHA-256, as installed."""
    missing: bool = False
    """The folder is gone (computed when listed, not stored)."""

    @property
    def provider_label(self) -> str:
        """The build's provider as users know it."""
        return PROVIDER_LABELS.get(self.provider, self.provider)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data for the command line (the manifest as a file count)."""
        return {
            "id": self.id, "name": self.name, "path": str(self.path), "source": self.source,
            "linked": self.linked, "provider": self.provider,
            "reply_format": self.reply_format, "size_bytes": self.size_bytes,
            "installed_at": _iso(self.installed_at), "last_used_at": _iso(self.last_used_at),
            "repo": self.repo, "subfolder": self.subfolder, "revision": self.revision,
            "catalog_id": self.catalog_id, "context_tokens": self.context_tokens,
            "files": len(self.manifest), "missing": self.missing,
        }


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp))


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` found; `problems` are sentences for the user."""

    model_id: str
    ok: bool
    problems: tuple[str, ...]
    checked_files: int
    checked_bytes: int
    hashed: bool
    """Whether SHA-256 sums were compared (else only presence and sizes)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DefaultModel:
    """The default model setting, resolved: `problem` is "" when it can be loaded."""

    path: Path | None
    """None when no default is set."""
    model: InstalledModel | None
    """The library's entry for it (None for a folder loaded from outside the library)."""
    problem: str = ""


def _parse_library(raw: bytes) -> tuple[int, list[object]]:
    """(schema version, records) of library.json; raises ValueError/TypeError if it is not one."""
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise TypeError("no 'models' list")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"schema_version {version!r}")
    return version, cast(list[object], data["models"])


def _to_record(m: InstalledModel) -> dict[str, Any]:
    record = {f.name: getattr(m, f.name) for f in dataclasses.fields(m)
              if f.name not in ("missing", "manifest", "path")}
    record["path"] = str(m.path)
    record["manifest"] = {rel: {"size": e.size, "sha256": e.sha256}
                          for rel, e in m.manifest.items()}
    return record


def _from_record(raw: object) -> InstalledModel:
    """An InstalledModel from its JSON record; raises ValueError/TypeError/KeyError if bad."""
    if not isinstance(raw, dict):
        raise TypeError("not an object")

    def text(key: str) -> str | None:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{key} is not text")
        return value

    def number(key: str) -> float | None:
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TypeError(f"{key} is not a number")
        return value

    model_id, name, path = text("id"), text("name"), text("path")
    if not model_id or not name or not path:
        raise KeyError("id, name and path are required")
    source = raw.get("source")
    if source not in ("download", "import"):
        raise ValueError(f"source {source!r}")
    reply = raw.get("reply_format", "plain")
    if reply not in ("harmony", "think", "plain"):
        raise ValueError(f"reply_format {reply!r}")
    manifest_raw = raw.get("manifest") or {}
    if not isinstance(manifest_raw, dict):
        raise TypeError("manifest is not an object")
    manifest = {}
    for rel, entry in manifest_raw.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("size"), int):
            raise TypeError(f"manifest entry {rel!r}")
        sha = entry.get("sha256")
        manifest[str(rel)] = ManifestEntry(int(entry["size"]), sha if isinstance(sha, str)
                                           else None)
    return InstalledModel(
        id=model_id, name=name, path=Path(path), source=source,
        linked=bool(raw.get("linked", False)), provider=text("provider") or "cpu",
        reply_format=reply, size_bytes=int(number("size_bytes") or 0),
        installed_at=float(number("installed_at") or 0.0),
        last_used_at=number("last_used_at"), repo=text("repo"), subfolder=text("subfolder"),
        revision=text("revision"), catalog_id=text("catalog_id"), origin=text("origin"),
        context_tokens=int(number("context_tokens") or 0), manifest=manifest)


def slugify(text: str) -> str:
    """A short lowercase id from a name ("Phi-4 mini (CPU)" -> "phi-4-mini-cpu")."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    slug = re.sub(r"-{2,}", "-", slug)[:64].strip("-._")
    return slug or "model"


class ModelLibrary:
    """The register of installed models in `<data>/models/library.json`.

    Every call reads the file again and writes it back atomically, so two Hearth processes (the
    window and the command line) see each other's changes; within a process a lock serialises
    calls, so worker threads may share an instance. `warnings` collects what the user should be
    told (a damaged file kept aside, records that could not be read).
    """

    def __init__(self, paths: AppPaths) -> None:
        self.paths = paths
        self.warnings: list[str] = []
        self._lock = threading.RLock()
        self._newer: int | None = None

    @property
    def file(self) -> Path:
        """The register file."""
        return self.paths.models / LIBRARY_FILE

    # -- reading and writing -------------------------------------------------------------------
    def _warn(self, message: str) -> None:
        log.warning("model library: %s", message)
        if message not in self.warnings:
            self.warnings.append(message)

    def _load(self) -> tuple[list[InstalledModel], bool]:
        """(records, rescan): rescan is True when the file was damaged and must be rebuilt."""
        try:
            raw = self.file.read_bytes()
        except FileNotFoundError:
            return [], False
        except OSError as exc:
            raise ModelLibraryError(
                f"The list of installed models ({self.file}) cannot be read: "
                f"{exc.strerror or exc}.", detail=repr(exc)) from exc
        try:
            version, items = _parse_library(raw)
        except (UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
            backup = self._keep_copy(raw, "bad")
            self._warn(f"The list of installed models was damaged ({exc}); it was rebuilt from "
                       f"the models folder. Models used from other folders must be imported "
                       f"again. The damaged file was kept as {backup}.")
            return [], True
        if version > SCHEMA_VERSION:
            self._newer = version
            self._warn(f"The list of installed models comes from a newer Hearth (version "
                       f"{version}); what this version understands is shown.")
        models: list[InstalledModel] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            try:
                model = _from_record(item)
            except (KeyError, TypeError, ValueError) as exc:
                self._warn(f"Entry {i + 1} of the list of installed models is damaged ({exc}) "
                           "and was skipped.")
                continue
            if model.id in seen:
                continue
            seen.add(model.id)
            models.append(model)
        return models, False

    def _keep_copy(self, raw: bytes, label: str) -> Path | None:
        target = self.file.with_name(f"{LIBRARY_FILE}.{label}-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            with target.open("xb") as f:
                f.write(raw)
        except FileExistsError:
            return target
        except OSError as exc:
            log.warning("could not keep a copy of %s: %s", self.file, exc)
            return None
        return target

    def _save(self, models: list[InstalledModel]) -> None:
        payload = {"schema_version": SCHEMA_VERSION,
                   "models": [_to_record(m) for m in models]}
        try:
            if self._newer is not None and self.file.exists():
                self._keep_copy(self.file.read_bytes(), f"v{self._newer}")
                self._newer = None
            write_atomic(self.file, json.dumps(payload, indent=1, ensure_ascii=False)
                         .encode("utf-8"))
        except OSError as exc:
            raise ModelLibraryError(
                f"The list of installed models could not be saved in {self.file.parent}: "
                f"{exc.strerror or exc}. Free some space or make the folder writable.",
                detail=repr(exc)) from exc

    def _records(self, discover: bool = True) -> list[InstalledModel]:
        """The stored records plus model folders found in the models folder, saved if new."""
        models, rescan = self._load()
        found = self._discover(models) if discover or rescan else []
        if found or rescan:
            models += found
            try:
                self._save(models)
            except ModelLibraryError as exc:
                self._warn(exc.user_message)
        return models

    def _discover(self, known: list[InstalledModel]) -> list[InstalledModel]:
        """Valid model folders in the models folder that no record names (a crash between a
        download and its registration, a damaged register)."""
        root = self.paths.models
        if not root.is_dir():
            return []
        self._purge_leftovers(root)
        registered = {_key(m.path) for m in known}
        ids = {m.id for m in known}
        found: list[InstalledModel] = []
        for folder in _model_folders(root):
            if _key(folder) in registered:
                continue
            try:
                check = validate_model_folder(folder)
            except ModelLibraryError as exc:
                log.info("model library: skipping %s: %s", folder, exc.user_message)
                continue
            model = _new_model(
                check, _unique_id(slugify(folder.relative_to(root).as_posix()), ids, None),
                name=folder.name, source="import", linked=False,
                manifest={rel: ManifestEntry(size) for rel, size in _walk_files(folder)})
            ids.add(model.id)
            found.append(model)
            log.info("model library: found %s in %s", model.id, folder)
        return found

    def _purge_leftovers(self, root: Path) -> None:
        """Remove what a crash left: trash from removals, staging folders of old imports."""
        try:
            children = list(root.iterdir())
        except OSError:
            return
        now = time.time()
        for child in children:
            if child.name.startswith(_TRASH_PREFIX) or (
                    child.name.startswith(_STAGING_PREFIX)
                    and now - _mtime(child) > _STALE_STAGING_S):
                shutil.rmtree(child, ignore_errors=True)

    def _update(self, model_id: str, **changes: Any) -> InstalledModel:
        with self._lock:
            models = self._records()
            for i, m in enumerate(models):
                if m.id == model_id:
                    models[i] = dataclasses.replace(m, **changes)
                    self._save(models)
                    return _with_status(models[i])
        raise self._unknown(model_id)

    def _unknown(self, model_id: str) -> ModelLibraryError:
        return ModelLibraryError(f"No installed model is called {model_id!r}. "
                                 "`hearth models list` shows the installed models.")

    # -- queries -------------------------------------------------------------------------------
    def list(self) -> list[InstalledModel]:
        """Every installed model, most recently used first; missing folders are flagged."""
        with self._lock:
            models = [_with_status(m) for m in self._records()]
        return sorted(models, key=lambda m: (-(m.last_used_at or 0.0), -m.installed_at, m.id))

    def get(self, model_id: str) -> InstalledModel:
        """The model with this id; raises ModelLibraryError if there is none."""
        for m in self.list():
            if m.id == model_id:
                return m
        raise self._unknown(model_id)

    def find_by_path(self, path: str | os.PathLike[str]) -> InstalledModel | None:
        """The model registered at this folder, if any."""
        key = _key(Path(path).expanduser())
        return next((m for m in self.list() if _key(m.path) == key), None)

    def resolve_default(self, default_model: str) -> DefaultModel:
        """Resolve the `model.default_model` setting (a folder path; "" for none).

        A folder that is gone gives a `problem` naming it (a removed drive), never an exception;
        a folder outside the library is accepted as it is (the user chose it).
        """
        if not default_model.strip():
            return DefaultModel(None, None)
        path = Path(default_model).expanduser()
        model = self.find_by_path(path)
        name = model.name if model else path.name
        if not path.is_dir():
            return DefaultModel(path, model, f"The default model {name} is missing: {path} is "
                                             "not there (a removed drive?). Choose another "
                                             "model or reconnect the drive.")
        return DefaultModel(path, model)

    # -- changes -------------------------------------------------------------------------------
    def add_downloaded(self, folder: str | os.PathLike[str], *, repo: str,
                       subfolder: str | None, revision: str | None,
                       files: Iterable[tuple[str, int, str | None]],
                       catalog_id: str | None = None, name: str | None = None) -> InstalledModel:
        """Register a finished download: `files` are (relative path, size, sha256 or None).

        Validates the folder first (raises ModelLibraryError naming a missing file). A folder
        already registered (found by `list` while the download finished) keeps its id and gets
        the download's details.
        """
        path = Path(folder).expanduser().resolve()
        check = validate_model_folder(path)
        manifest = {}
        for rel, size, sha in files:
            manifest[Path(rel).as_posix()] = ManifestEntry(int(size), sha or None)
        tail = (subfolder or "").strip("/").rpartition("/")[2]
        label = name or (repo.rpartition("/")[2] + (f" ({tail})" if tail else ""))
        inside = _inside_folder(path, self.paths.models)
        with self._lock:
            # No discovery: it would register this very folder as an import first.
            models = self._records(discover=False)
            existing = next((m for m in models if _key(m.path) == _key(path)), None)
            ids = {m.id for m in models if m is not existing}
            model_id = existing.id if existing else _unique_id(
                slugify(path.name) if inside else _download_slug(repo, subfolder, catalog_id),
                ids, None)
            model = _new_model(check, model_id, name=label, source="download", linked=not inside,
                               manifest=manifest, repo=repo, subfolder=subfolder or None,
                               revision=revision, catalog_id=catalog_id)
            models = [m for m in models if m is not existing] + [model]
            self._save(models)
        log.info("model library: registered download %s (%s) at %s", model.id, repo, path)
        return model

    def download_folder(self, repo: str, subfolder: str | None,
                        catalog_id: str | None = None) -> Path:
        """A new, free folder in the models folder for a download of `repo`/`subfolder`
        (not created); `add_downloaded` then uses its name as the model's id."""
        with self._lock:
            ids = {m.id for m in self._records(discover=False)}
            return self.paths.models / _unique_id(
                _download_slug(repo, subfolder, catalog_id), ids, self.paths.models)

    def import_folder(self, src: str | os.PathLike[str], *, link: bool = False,
                      progress: Progress | None = None,
                      cancel: Cancellable | None = None) -> InstalledModel | None:
        """Add a model folder from elsewhere: copied into the models folder (the default, right
        for a USB stick), or registered where it is with `link=True`.

        Validates first and refuses a folder already in the library. The copy goes through a
        hidden staging folder renamed into place at the end, so a failure or a cancel leaves
        nothing behind. Returns None when cancelled. `progress(done, total)` counts bytes;
        `cancel` is polled between 1 MB chunks. Raises ModelLibraryError.
        """
        source = Path(src).expanduser()
        check = validate_model_folder(source)
        source = source.resolve()
        check = dataclasses.replace(check, path=source)
        root = self.paths.models
        if _inside_folder(source, root):
            raise ModelLibraryError(f"{source} is already in Hearth's models folder; it is "
                                    "listed with the installed models.")
        with self._lock:
            models = self._records()
            for m in models:
                if _key(m.path) == _key(source) or (
                        not link and m.origin and _key(Path(m.origin)) == _key(source)
                        and m.path.is_dir()):
                    raise ModelLibraryError(
                        f"This model is already installed as {m.id!r} ({m.name}). Remove it "
                        "first to import it again.")
            model_id = _unique_id(slugify(source.name), {m.id for m in models}, root)
        if link:
            model = _new_model(check, model_id, name=source.name, source="import", linked=True,
                               manifest={rel: ManifestEntry(size)
                                         for rel, size in _walk_files(source)},
                               origin=str(source))
        else:
            copied = self._copy_in(source, model_id, progress, cancel)
            if copied is None:
                return None
            target, manifest = copied
            model = _new_model(validate_model_folder(target), model_id, name=source.name,
                               source="import", linked=False, manifest=manifest,
                               origin=str(source))
        with self._lock:
            models = self._records()
            # Listing during the copy may have found the new folder already: replace that.
            models = [m for m in models if _key(m.path) != _key(model.path)
                      and m.id != model.id] + [model]
            self._save(models)
        log.info("model library: imported %s from %s (%s)", model.id, source,
                 "linked" if link else "copied")
        return model

    def _copy_in(self, source: Path, model_id: str, progress: Progress | None,
                 cancel: Cancellable | None) -> tuple[Path, dict[str, ManifestEntry]] | None:
        root = self.paths.models
        files = list(_walk_files(source))
        total = sum(size for _, size in files)
        try:
            root.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(root).free
        except OSError as exc:
            raise ModelLibraryError(f"The models folder {root} cannot be used: "
                                    f"{exc.strerror or exc}.", detail=repr(exc)) from exc
        if total + _SPACE_MARGIN > free:
            raise ModelLibraryError(
                f"Not enough free space for this model: it needs {total / 1e9:.2f} GB and "
                f"{free / 1e9:.2f} GB is free in {root}. Free some space, or import it with "
                "--link to use it where it is.")
        staging = root / f"{_STAGING_PREFIX}{model_id}-{secrets.token_hex(4)}"
        target = root / model_id
        manifest: dict[str, ManifestEntry] = {}
        done = 0

        def on_chunk(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total)

        try:
            staging.mkdir()
            for rel, _ in files:
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                size, sha = copy_file_hashed(source / rel, dest, on_chunk, cancel)
                manifest[rel] = ManifestEntry(size, sha)
            check_cancel(cancel)
            os.replace(staging, target)
        except Cancelled:
            shutil.rmtree(staging, ignore_errors=True)
            log.info("model library: import of %s cancelled", source)
            return None
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ModelLibraryError(
                f"The model could not be copied: {exc.strerror or exc}"
                + (f" ({Path(exc.filename).name})" if exc.filename else "")
                + ". Nothing was imported.", detail=repr(exc)) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target, manifest

    def owns_folder(self, model: InstalledModel) -> bool:
        """Whether removing `model` deletes its folder: a copy or download in the models
        folder that is still there (never a linked folder)."""
        return (not model.linked and model.path.is_dir()
                and _inside_folder(model.path, self.paths.models))

    def remove(self, model_id: str) -> int:
        """Forget a model and delete its folder if the library owns it (copied or downloaded
        into the models folder); linked and missing folders are left alone. Returns the bytes
        freed.

        The folder is first renamed aside, so a file held open (Windows, a loaded model) stops
        the removal with nothing lost; the renamed folder is then deleted.
        """
        with self._lock:
            models = self._records()
            model = next((m for m in models if m.id == model_id), None)
            if model is None:
                raise self._unknown(model_id)
            trash: Path | None = None
            freed = 0
            if self.owns_folder(model):
                freed = folder_size(model.path)
                trash = self.paths.models / f"{_TRASH_PREFIX}{model.id}-{secrets.token_hex(4)}"
                try:
                    os.replace(model.path, trash)
                except OSError as exc:
                    raise ModelLibraryError(
                        f"{model.name} could not be removed: {exc.strerror or exc}. Close the "
                        "model (or any program using its files) and try again.",
                        detail=repr(exc)) from exc
            try:
                self._save([m for m in models if m.id != model_id])
            except ModelLibraryError:
                if trash is not None:
                    with contextlib.suppress(OSError):
                        os.replace(trash, model.path)
                raise
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
            if trash.exists():
                # Retried by the next list(); the space comes back then.
                log.warning("model library: %s could not be deleted completely", trash)
        log.info("model library: removed %s (%d bytes freed)", model_id, freed)
        return freed

    def mark_used(self, model_id: str) -> InstalledModel:
        """Record that the model was just loaded."""
        return self._update(model_id, last_used_at=time.time())

    def rename(self, model_id: str, name: str) -> InstalledModel:
        """Change the name shown for a model."""
        if not name.strip():
            raise ModelLibraryError("A model's name cannot be empty.")
        return self._update(model_id, name=name.strip())

    def verify(self, model_id: str, progress: Progress | None = None,
               cancel: Cancellable | None = None) -> VerifyReport | None:
        """Check a model's folder and compare its files with what was installed (presence,
        size, SHA-256 where recorded). Returns None when cancelled."""
        model = self.get(model_id)
        problems: list[str] = []
        if model.missing:
            return VerifyReport(model.id, False, (
                f"The folder {model.path} is missing (a removed drive?).",), 0, 0, False)
        try:
            validate_model_folder(model.path)
        except ModelLibraryError as exc:
            problems.append(exc.user_message)
        total = sum(e.size for e in model.manifest.values() if e.sha256)
        done = 0
        checked_files = checked_bytes = 0

        def on_chunk(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total)

        try:
            for rel, entry in model.manifest.items():
                target = model.path / rel
                try:
                    size = target.stat().st_size
                except FileNotFoundError:
                    problems.append(f"{rel} is missing.")
                    continue
                except OSError as exc:
                    problems.append(f"{rel} cannot be read ({exc.strerror or exc}).")
                    continue
                checked_files += 1
                if size != entry.size:
                    problems.append(f"{rel} has changed: {size} bytes instead of {entry.size}.")
                    continue
                if entry.sha256:
                    sha = sha256_file(target, on_chunk, cancel)
                    if sha != entry.sha256.lower():
                        problems.append(f"{rel} has changed: its SHA-256 checksum does not "
                                        "match the one recorded when it was installed.")
                checked_bytes += size
        except Cancelled:
            return None
        except OSError as exc:
            problems.append(f"A file could not be read ({exc.strerror or exc}).")
        if problems:
            problems.append(
                "Remove the model and download it again." if model.source == "download" else
                "Copy the model folder to its place again." if model.linked else
                "Remove the model and import it again from its original folder.")
        report = VerifyReport(model.id, not problems, tuple(problems), checked_files,
                              checked_bytes, any(e.sha256 for e in model.manifest.values()))
        log.info("model library: verified %s: %s", model.id, "ok" if report.ok else problems)
        return report


def _download_slug(repo: str, subfolder: str | None, catalog_id: str | None) -> str:
    tail = (subfolder or "").strip("/").rpartition("/")[2]
    return slugify((catalog_id or repo.rpartition("/")[2]) + (f"-{tail}" if tail else ""))


def _new_model(check: FolderCheck, model_id: str, *, name: str, source: Source, linked: bool,
               manifest: dict[str, ManifestEntry], **extra: Any) -> InstalledModel:
    return InstalledModel(
        id=model_id, name=name, path=check.path, source=source, linked=linked,
        provider=check.provider, reply_format=check.reply_format, size_bytes=check.size_bytes,
        installed_at=time.time(), context_tokens=check.context_tokens, manifest=manifest,
        **extra)


def _with_status(model: InstalledModel) -> InstalledModel:
    missing = not model.path.is_dir()
    return model if missing == model.missing else dataclasses.replace(model, missing=missing)


def _key(path: Path) -> str:
    """A comparable form of a path (resolved where possible; case-folded on Windows)."""
    try:
        resolved = path.expanduser().resolve()
    except OSError:
        resolved = path.expanduser().absolute()
    return os.path.normcase(str(resolved))


def _inside_folder(path: Path, folder: Path) -> bool:
    inner, outer = _key(path), _key(folder)
    return inner != outer and inner.startswith(outer.rstrip(os.sep) + os.sep)


def _unique_id(base: str, taken: set[str], root: Path | None) -> str:
    """`base`, or `base-2`, `base-3`... free among `taken` ids (and folders in `root`)."""
    for n in range(1, 10_000):
        candidate = base if n == 1 else f"{base}-{n}"
        if candidate not in taken and (root is None or not (root / candidate).exists()):
            return candidate
    raise ModelLibraryError("Too many models with the same name; remove some first.")


def _model_folders(root: Path) -> Iterator[Path]:
    """Folders under `root` holding genai_config.json (hidden folders skipped)."""
    def walk(folder: Path, depth: int) -> Iterator[Path]:
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir()
                              and not p.name.startswith("."))
        except OSError:
            return
        for child in children:
            if (child / "genai_config.json").is_file():
                yield child
            elif depth < _DISCOVER_DEPTH:
                yield from walk(child, depth + 1)

    yield from walk(root, 1)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# --- Loading with a report --------------------------------------------------------------------

@dataclass(frozen=True)
class LoadReport:
    """What loading a model cost and where it ended up."""

    provider: str
    load_seconds: float
    memory_bytes: int | None
    """Growth of the process's resident memory during the load (None where unmeasured). GPU
    memory is not included."""
    skipped: tuple[str, ...] = ()
    """Why preferred providers were not used, e.g. "CUDA: not available in this installation"."""

    @property
    def provider_label(self) -> str:
        """The provider as users know it."""
        return PROVIDER_LABELS.get(self.provider, self.provider)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"provider": self.provider, "load_seconds": round(self.load_seconds, 3),
                "memory_bytes": self.memory_bytes, "skipped": list(self.skipped)}


def load_with_report(model: InstalledModel | Path, provider: str = "auto",
                     context_cap: int | None = None) -> tuple[LoadedModel, LoadReport]:
    """Load an installed model (or a folder) with `engine.load_model`, measuring the time and
    the memory it took. Raises ModelLoadError (ProviderUnavailableError for a provider that
    cannot be used); running out of memory says so and suggests the CPU build or a smaller
    model. The caller records the use with `ModelLibrary.mark_used`."""
    from app.core.engine import load_model

    if isinstance(model, InstalledModel):
        path, name = model.path, model.name
        if not path.is_dir():
            raise ModelLoadError(f"{name} is missing: its folder {path} is not there (a removed "
                                 "drive?). Reconnect it, or remove the model from the list.")
    else:
        path = Path(model)
        name = path.name
    before = process_memory()
    started = time.perf_counter()
    try:
        loaded = load_model(path, provider, context_cap)
    except ModelLoadError as exc:
        text = f"{exc.user_message}\n{exc.detail}".lower()
        if any(marker in text for marker in _OOM_MARKERS):
            # Only an explicit GPU provider fails on the GPU: `auto` falls back to the CPU, and
            # the engine reports a CPU-side bad_alloc in og.Config as ProviderUnavailableError.
            on_gpu = provider not in ("auto", "cpu")
            raise ModelLoadError(
                f"There is not enough memory on the GPU to load {name}: try the CPU build or a "
                "smaller model." if on_gpu else
                f"There is not enough memory to load {name}: close other programs, or choose a "
                "smaller model (or a lower-precision build such as int4).",
                detail=exc.detail or exc.user_message) from exc
        raise
    seconds = time.perf_counter() - started
    after = process_memory()
    memory = max(0, after - before) if before is not None and after is not None else None
    skipped = tuple(_friendly_skip(reason) for reason in loaded.fallbacks)
    report = LoadReport(loaded.provider, seconds, memory, skipped)
    log.info("loaded %s on %s: %.2f s, %s bytes more resident memory", name, loaded.provider,
             seconds, memory)
    return loaded, report


def _friendly_skip(reason: str) -> str:
    if any(marker in reason.lower() for marker in _OOM_MARKERS):
        label = reason.partition(":")[0]
        return f"{label}: not enough GPU memory for this model"
    return reason


def process_memory() -> int | None:
    """This process's resident memory in bytes, or None where it cannot be read."""
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return _windows_working_set()
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return None
    # macOS: only the peak is available (in bytes there); still right for a load's growth.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _windows_working_set() -> int | None:  # pragma: no cover - Windows only
    """Windows only: the working set from GetProcessMemoryInfo (psutil is not bundled)."""
    import ctypes
    from ctypes import wintypes

    class ProcessMemoryCounters(ctypes.Structure):
        _fields_ = [
            ("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD),
            ("PeakWorkingSetSize", ctypes.c_size_t), ("WorkingSetSize", ctypes.c_size_t),
            ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
            ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
            ("PagefileUsage", ctypes.c_size_t), ("PeakPagefileUsage", ctypes.c_size_t)]

    counters = ProcessMemoryCounters()
    counters.cb = ctypes.sizeof(ProcessMemoryCounters)
    try:
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        kernel32.GetCurrentProcess.restype = wintypes.HANDLE
        handle = kernel32.GetCurrentProcess()
        # K32GetProcessMemoryInfo lives in kernel32 since Windows 7 (no psapi.dll needed).
        ok = kernel32.K32GetProcessMemoryInfo(handle, ctypes.byref(counters), counters.cb)
    except (AttributeError, OSError):
        return None
    return int(counters.WorkingSetSize) if ok else None


# --- The CPU build of a model too big for the GPU ---------------------------------------------

def cpu_alternative(entry: CatalogEntry, hardware: Hardware, *,
                    gpu_failed: bool = False) -> Variant | None:
    """The CPU build to offer when `entry` does not run on this machine's GPU (too little GPU
    memory, no usable GPU provider) but its CPU build fits in the available memory; None when
    it runs on the GPU or the CPU build does not fit either.

    `gpu_failed`: the GPU build was tried and ran out of memory, whatever the estimate said.
    """
    from app.core.hardware import assess

    if not gpu_failed and assess(entry, hardware).verdict == "gpu":
        return None
    cpu = entry.variant_for("cpu")
    if cpu is None or "cpu" not in hardware.providers:
        return None
    return cpu if hardware.ram_available_bytes >= cpu.ram_bytes else None


def cpu_alternative_for(model: InstalledModel, catalog: Catalog, hardware: Hardware, *,
                        gpu_failed: bool = False) -> tuple[CatalogEntry, Variant] | None:
    """For an installed GPU build of a catalog model: its catalog entry and CPU build, when the
    GPU cannot hold it (or `gpu_failed`: it ran out of memory) and the CPU build fits."""
    if model.provider == "cpu" or model.catalog_id is None:
        return None
    entry = next((e for e in catalog if e.id == model.catalog_id), None)
    if entry is None:
        return None
    variant = cpu_alternative(entry, hardware, gpu_failed=gpu_failed)
    return (entry, variant) if variant is not None else None
