"""The model manager's work off the GUI thread: hardware check, downloads, imports, removals.

`ModelManager` runs the core functions of `app.core.hardware`, `app.core.downloads` and
`app.core.library` as `TaskRunner` tasks and turns them into signals, so the models pane never
waits on the disk, the network or `nvidia-smi`. It keeps the state the pane draws: the hardware
and how each catalog model fits it, the installed models, and the downloads by key.

A download's key is its destination relative to the models folder ("tiny-llama-cpu-fp32",
"embedders/multilingual-e5-small"). Unfinished downloads are recorded in
`<models>/downloads.json` (`PendingDownloads`) when they start, so a download interrupted by a
crash or a closed window comes back at the next start as paused, with Resume and Discard; the
bytes themselves wait in the core's staging folder (`<models>/.partial/<name>`).

Pause and cancel both stop a running download through its task's CancelToken
(`DownloadStopped`); cancel then deletes the staged bytes. Offline mode refuses every network
task here, before any connection, and the core refuses again.

The document-search embedder (`catalog.embedders`) downloads into `<models>/embedders/<id>`
with only the files its catalog entry lists, plus `hearth-embedder.json` (its prefixes and
length limit); `embedder_folder` tells the rest of the app where it is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from app.core.catalog import Catalog, CatalogEntry, EmbedderEntry, Variant, load_catalog
from app.core.chat import CancelToken
from app.core.documents.embedders import EMBEDDERS_DIR
from app.core.documents.embedders import embedder_dest as _embedder_dest
from app.core.downloads import (
    GENAI_CONFIG,
    PARTIAL_DIR,
    STATE_FILE,
    DownloadProgress,
    DownloadStopped,
    discard_partial,
    partial_bytes,
)
from app.core.engine import PROVIDER_LABELS
from app.core.errors import AppError, DownloadError, ModelLibraryError
from app.core.hardware import Fit, Hardware, assess_all, detect_hardware, recommend
from app.core.library import InstalledModel, ModelLibrary, cpu_alternative_for
from app.core.secrets import resolve_token
from app.core.settings import write_atomic
from app.workers.tasks import TaskRunner

log = logging.getLogger(__name__)

PENDING_FILE = "downloads.json"
EMBEDDER_CONFIG_FILE = "hearth-embedder.json"
"""Read by app.core.documents.embedder (its CONFIG_FILE, not imported: that module brings numpy
in, which the window's start should not wait for): prefixes and length limit."""
MAX_THREADS = 4
"""Two downloads, a search and a hardware check or removal can run side by side."""

DownloadKind = Literal["model", "embedder"]
DownloadState = Literal["starting", "downloading", "paused", "failed", "stopping"]


def _offline_message() -> str:
    return QCoreApplication.translate(
        "ModelManager", "Offline mode is on, so Hearth does not connect to Hugging Face. Turn "
        "it off in Settings (Privacy) to download models.")


@dataclass(frozen=True)
class DownloadInfo:
    """A download the pane shows: running, paused (also one found from an earlier run) or
    failed. Replaced, never changed, as it progresses."""

    key: str
    """Its destination relative to the models folder, '/'-separated."""
    kind: DownloadKind
    name: str
    repo: str
    """"" for a staging folder found without any record of what it was."""
    subfolder: str
    dest: Path
    state: DownloadState
    catalog_id: str | None = None
    embedder_id: str | None = None
    done_bytes: int = 0
    total_bytes: int = 0
    """0 until the hub has said (planning)."""
    bytes_per_s: float = 0.0
    eta_s: float | None = None
    error: str = ""
    needs_token: bool = False
    """The failure was a gated or private repo: the pane points to the token in Settings."""
    only: tuple[str, ...] | None = None

    @property
    def resumable(self) -> bool:
        """Whether Hearth knows what to fetch to go on (the repo is recorded)."""
        return bool(self.repo)

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass(frozen=True)
class _Planned:
    """Progress value: the hub listed the files; this many bytes in all."""

    total_bytes: int


@dataclass(frozen=True)
class _Failed:
    """A task result for a user-facing failure that carries more than a message."""

    message: str
    needs_token: bool = False


@dataclass(frozen=True)
class _Snapshot:
    """What a refresh read from disk."""

    models: tuple[InstalledModel, ...]
    warnings: tuple[str, ...]
    partials: tuple[DownloadInfo, ...]
    epoch: int
    seq: int


@dataclass
class _Callbacks:
    done: Callable[[Any], None]
    failed: Callable[[str], None]
    cancelled: Callable[[], None] | None = None
    progressed: Callable[[Any], None] | None = None


class PendingDownloads:
    """The record of unfinished downloads, `<models>/downloads.json`, safe to share between
    threads. Written atomically; a damaged file is ignored (staging folders are still found)."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._lock = threading.Lock()

    @property
    def file(self) -> Path:
        return self.models_dir / PENDING_FILE

    def read(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.file.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable %s: %s", self.file, exc)
            return {}
        items = data.get("downloads") if isinstance(data, dict) else None
        return {str(k): v for k, v in items.items() if isinstance(v, dict)} \
            if isinstance(items, dict) else {}

    def _write(self, items: dict[str, dict[str, Any]]) -> None:
        try:
            if items:
                write_atomic(self.file, json.dumps({"schema": 1, "downloads": items}, indent=1,
                                                   ensure_ascii=False).encode("utf-8"))
            else:
                self.file.unlink(missing_ok=True)
        except OSError as exc:
            # Only resuming after a crash depends on it; the download itself goes on.
            log.warning("could not record the pending downloads in %s: %s", self.file, exc)

    def put(self, info: DownloadInfo) -> None:
        with self._lock:
            items = self._read()
            items[info.key] = {
                "kind": info.kind, "name": info.name, "repo": info.repo,
                "subfolder": info.subfolder, "catalog_id": info.catalog_id,
                "embedder_id": info.embedder_id, "total_bytes": info.total_bytes,
                "only": list(info.only) if info.only is not None else None,
            }
            self._write(items)

    def set_total(self, key: str, total: int) -> None:
        with self._lock:
            items = self._read()
            if key in items:
                items[key]["total_bytes"] = total
                self._write(items)

    def remove(self, key: str) -> None:
        with self._lock:
            items = self._read()
            if items.pop(key, None) is not None or not items:
                self._write(items)

    def scan(self) -> list[DownloadInfo]:
        """Every unfinished download: the recorded ones, and staging folders without a record
        (named by the core's own state file when it has one), all as paused."""
        records = self.read()
        found: dict[str, DownloadInfo] = {}
        for key, raw in records.items():
            dest = self.models_dir / key
            if dest.exists():
                self.remove(key)  # finished, but the record outlived it (a crash)
                continue
            only = raw.get("only")
            kind: DownloadKind = "embedder" if raw.get("kind") == "embedder" else "model"
            found[key] = DownloadInfo(
                key=key, kind=kind, name=str(raw.get("name") or Path(key).name),
                repo=str(raw.get("repo") or ""), subfolder=str(raw.get("subfolder") or ""),
                dest=dest, state="paused", catalog_id=raw.get("catalog_id"),
                embedder_id=raw.get("embedder_id"), done_bytes=partial_bytes(dest),
                total_bytes=int(raw.get("total_bytes") or 0),
                only=tuple(str(p) for p in only) if isinstance(only, list) else None)
        for parent in (self.models_dir, self.models_dir / EMBEDDERS_DIR):
            staging_root = parent / PARTIAL_DIR
            try:
                children = sorted(p for p in staging_root.iterdir() if p.is_dir())
            except OSError:
                continue
            for staging in children:
                dest = parent / staging.name
                key = dest.relative_to(self.models_dir).as_posix()
                if key in found:
                    continue
                repo, subfolder = _staged_source(staging)
                kind = "embedder" if parent != self.models_dir else "model"
                found[key] = DownloadInfo(
                    key=key, kind=kind, name=staging.name, repo=repo, subfolder=subfolder,
                    dest=dest, state="paused", done_bytes=partial_bytes(dest),
                    embedder_id=staging.name if kind == "embedder" else None)
        return list(found.values())


def _staged_source(staging: Path) -> tuple[str, str]:
    """(repo, subfolder) from the core's state file in a staging folder; ("", "") if none."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        data = json.loads((staging / STATE_FILE).read_text("utf-8"))
        return str(data.get("repo") or ""), str(data.get("subfolder") or "")
    return "", ""


def _needs_token(exc: BaseException) -> bool:
    """Whether a download failed for want of a token with access (gated, private, refused)."""
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    cause = exc.__cause__
    if isinstance(cause, GatedRepoError | RepositoryNotFoundError):
        return True
    return isinstance(cause, HfHubHTTPError) and cause.response is not None \
        and cause.response.status_code in (401, 403)


class ModelManager(QObject):
    """Hardware, catalog fits, installed models and downloads, worked on in the background.

    `library` is shared with other users (it is thread-safe). `catalog` defaults to
    `load_catalog()` ($HEARTH_CATALOG or the shipped one); a broken catalog leaves
    `catalog_error` set and the rest working. `endpoint` overrides $HF_ENDPOINT (read at each
    download); `token` gives the Hugging Face token (default: $HF_TOKEN, then the keyring) and
    is called on the worker thread. `hardware_probe` measures the machine (tests give a fixed
    one for verdicts this machine cannot produce).

    Signals:
        hardware_detected(Hardware)
        library_changed(list[InstalledModel]): the installed models, re-read from disk
        downloads_changed(): a download started, stopped, ended or changed state
        download_progressed(str, DownloadInfo): key, the new state (about ten times a second)
        download_paused(str): key
        download_finished(str, object): key, the InstalledModel (or an embedder's folder)
        download_failed(str, str): key, a message for the user
        download_cancelled(str): key; the staged bytes are deleted
        import_progressed(int, int): bytes copied, bytes in all
        import_finished(InstalledModel)
        import_failed(str)
        import_cancelled()
        model_removed(str, int): model id, bytes freed
        verified(str, VerifyReport | None): model id, the report (None when cancelled)
        search_finished(str, list[RemoteModel]): the query and its results
        search_failed(str)
        embedders_changed()
        offline_changed(bool)
        error_occurred(str): a failure not tied to a row (removing, marking as used)
    """

    hardware_detected = Signal(object)
    library_changed = Signal(object)
    downloads_changed = Signal()
    download_progressed = Signal(str, object)
    download_paused = Signal(str)
    download_finished = Signal(str, object)
    download_failed = Signal(str, str)
    download_cancelled = Signal(str)
    import_progressed = Signal(object, object)
    import_finished = Signal(object)
    import_failed = Signal(str)
    import_cancelled = Signal()
    model_removed = Signal(str, object)
    verified = Signal(str, object)
    search_finished = Signal(str, object)
    search_failed = Signal(str)
    embedders_changed = Signal()
    offline_changed = Signal(bool)
    error_occurred = Signal(str)

    def __init__(self, library: ModelLibrary, catalog: Catalog | None = None, *,
                 offline: bool = False, endpoint: str | None = None,
                 token: Callable[[], str | None] = resolve_token,
                 hardware_probe: Callable[[Path], Hardware] = detect_hardware,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.catalog_error = ""
        if catalog is None:
            try:
                catalog = load_catalog()
            except AppError as exc:
                log.warning("no model catalog: %s", exc.user_message)
                self.catalog_error = exc.user_message
                catalog = Catalog(())
        self.catalog = catalog
        self.hardware: Hardware | None = None
        self.fits: tuple[Fit, ...] = ()
        self.recommendation: Fit | None = None
        self.models: tuple[InstalledModel, ...] = ()
        self.warnings: tuple[str, ...] = ()
        self.detecting = False
        self._offline = offline
        self._endpoint = endpoint
        self._token = token
        self._probe = hardware_probe
        self._pending = PendingDownloads(library.paths.models)
        self._downloads: dict[str, DownloadInfo] = {}
        self._download_tasks: dict[str, int] = {}
        self._stop_reason: dict[str, str] = {}
        self._epoch = 0
        self._refresh_seq = 0
        self._import_task: int | None = None
        self._callbacks: dict[int, _Callbacks] = {}
        self._runner = TaskRunner(MAX_THREADS, self)
        self._runner.progressed.connect(self._on_runner_progressed)
        self._runner.finished.connect(self._on_runner_finished)
        self._runner.failed.connect(self._on_runner_failed)
        self._runner.cancelled.connect(self._on_runner_cancelled)

    # -- state ----------------------------------------------------------------------------------
    @property
    def models_dir(self) -> Path:
        """The models folder."""
        return self.library.paths.models

    @property
    def offline(self) -> bool:
        """Whether offline mode refuses downloads and search."""
        return self._offline

    def set_offline(self, offline: bool) -> None:
        """Follow the `privacy.offline_mode` setting; turning it on pauses running downloads."""
        if offline == self._offline:
            return
        self._offline = offline
        if offline:
            for key in list(self._download_tasks):
                self.pause(key)
        self.offline_changed.emit(offline)

    def downloads(self) -> list[DownloadInfo]:
        """The unfinished downloads, in the order they started (or were found)."""
        return list(self._downloads.values())

    def download_info(self, key: str) -> DownloadInfo | None:
        """A download by key."""
        return self._downloads.get(key)

    def download_for_entry(self, entry_id: str) -> DownloadInfo | None:
        """The unfinished download of a catalog model, if any."""
        return next((d for d in self._downloads.values() if d.catalog_id == entry_id), None)

    def download_for_embedder(self, embedder_id: str) -> DownloadInfo | None:
        """The unfinished download of an embedder, if any."""
        return next((d for d in self._downloads.values()
                     if d.kind == "embedder" and d.embedder_id == embedder_id), None)

    def fit_for(self, entry_id: str) -> Fit | None:
        """How a catalog model fits this machine (None before the hardware is known)."""
        return next((f for f in self.fits if f.entry.id == entry_id), None)

    def installed_for(self, entry: CatalogEntry,
                      variant: Variant | None = None) -> InstalledModel | None:
        """The installed build of a catalog model: `variant`'s, else any of its builds,
        preferring the one this machine would pick."""
        def matches(model: InstalledModel, v: Variant) -> bool:
            return ((model.repo or "").lower() == entry.repo.lower()
                    and (model.subfolder or "").strip("/") == v.subfolder.strip("/"))

        candidates = [variant] if variant is not None else [
            *([f.variant] if (f := self.fit_for(entry.id)) and f.variant else []),
            *entry.variants]
        for v in candidates:
            for model in self.models:
                if matches(model, v) or (variant is None and model.catalog_id == entry.id
                                         and model.subfolder is None):
                    return model
        return None

    def cpu_alternative(self, model: InstalledModel, *,
                        gpu_failed: bool = False) -> tuple[CatalogEntry, Variant] | None:
        """For a GPU build that this machine's GPU cannot hold: its catalog CPU build, if that
        fits in memory (`library.cpu_alternative_for`)."""
        if self.hardware is None:
            return None
        return cpu_alternative_for(model, self.catalog, self.hardware, gpu_failed=gpu_failed)

    def embedder_dest(self, embedder_id: str) -> Path:
        """Where an embedder is (or will be) installed (the rule core code finds it by)."""
        return _embedder_dest(self.library.paths, embedder_id)

    def embedder_folder(self, embedder_id: str | None = None) -> Path | None:
        """The installed folder of an embedder (default: the catalog's first), or None when it
        is not downloaded. Document search loads it from here."""
        if embedder_id is None:
            if not self.catalog.embedders:
                return None
            embedder_id = self.catalog.embedders[0].id
        dest = self.embedder_dest(embedder_id)
        return dest if dest.is_dir() else None

    def embedder(self, embedder_id: str) -> EmbedderEntry | None:
        """A catalog embedder by id."""
        return next((e for e in self.catalog.embedders if e.id == embedder_id), None)

    # -- reading --------------------------------------------------------------------------------
    def detect_hardware(self) -> None:
        """Measure the machine (nvidia-smi may take seconds); `hardware_detected` follows."""
        if self.detecting:
            return
        self.detecting = True
        probe, models_dir = self._probe, self.models_dir
        self._start(lambda _cancel, _progress: probe(models_dir),
                    done=self._on_hardware, failed=self._on_hardware_failed)

    def refresh(self) -> None:
        """Re-read the installed models and find unfinished downloads; `library_changed`
        follows."""
        self._refresh_seq += 1
        library, pending, epoch, seq = self.library, self._pending, self._epoch, self._refresh_seq

        def read(_cancel: CancelToken, _progress: Callable[[object], None]) -> _Snapshot:
            models = tuple(library.list())
            return _Snapshot(models, tuple(library.warnings), tuple(pending.scan()), epoch, seq)

        self._start(read, done=self._on_snapshot, failed=self.error_occurred.emit)

    # -- downloads ------------------------------------------------------------------------------
    def download_entry(self, entry_id: str) -> str | None:
        """Download a catalog model, in the build this machine would run (the fit's variant);
        returns the download's key, or None when refused (`download_failed` says why)."""
        try:
            entry = self.catalog.get(entry_id)
        except AppError as exc:
            self.error_occurred.emit(exc.user_message)
            return None
        fit = self.fit_for(entry_id)
        variant = (fit.variant if fit is not None and fit.variant is not None
                   else entry.variant_for("cpu") or entry.variants[0])
        return self._download_model(entry.repo, variant.subfolder, entry, variant)

    def download_variant(self, entry_id: str, subfolder: str) -> str | None:
        """Download one build of a catalog model (the CPU build offered for a GPU build that
        does not fit)."""
        entry = self.catalog.get(entry_id)
        variant = next(v for v in entry.variants if v.subfolder == subfolder)
        return self._download_model(entry.repo, variant.subfolder, entry, variant)

    def download_repo(self, repo: str, subfolder: str = "") -> str | None:
        """Download any Hugging Face repo's sub-folder (one holding genai_config.json)."""
        repo = repo.strip().strip("/")
        subfolder = subfolder.replace("\\", "/").strip().strip("/")
        if repo.startswith("https://huggingface.co/"):
            repo = repo.removeprefix("https://huggingface.co/").strip("/")
        entry = next((e for e in self.catalog if e.repo.lower() == repo.lower()), None)
        variant = next((v for v in entry.variants if v.subfolder.strip("/") == subfolder),
                       None) if entry else None
        return self._download_model(repo, subfolder, entry if variant else None, variant)

    def _download_model(self, repo: str, subfolder: str, entry: CatalogEntry | None,
                        variant: Variant | None) -> str | None:
        where = f"{repo}/{subfolder}" if subfolder else repo
        for model in self.models:
            if ((model.repo or "").lower() == repo.lower()
                    and (model.subfolder or "") == subfolder and not model.missing):
                self.error_occurred.emit(QCoreApplication.translate(
                    "ModelManager", "{where} is already installed as {name}.").format(
                    where=where, name=model.name))
                return None
        existing = next((d for d in self._downloads.values() if d.kind == "model"
                         and d.repo.lower() == repo.lower() and d.subfolder == subfolder), None)
        if existing is not None:
            return self.resume(existing.key)
        name = repo.rpartition("/")[2] + (f" ({subfolder.rpartition('/')[2]})" if subfolder
                                          else "")
        if entry is not None and variant is not None:
            labels = ", ".join(PROVIDER_LABELS.get(p, p) for p in variant.providers)
            name = f"{entry.name} ({labels})"
        try:
            dest = self.library.download_folder(repo, subfolder or None,
                                                entry.id if entry else None)
        except ModelLibraryError as exc:
            self.error_occurred.emit(exc.user_message)
            return None
        info = DownloadInfo(
            key=dest.relative_to(self.models_dir).as_posix(), kind="model", name=name,
            repo=repo, subfolder=subfolder, dest=dest, state="starting",
            catalog_id=entry.id if entry else None,
            total_bytes=variant.size_bytes if variant else 0)
        return self._begin(info)

    def download_embedder(self, embedder_id: str | None = None) -> str | None:
        """Download a document-search model (default: the catalog's first) into
        `<models>/embedders/<id>`, only the files its catalog entry lists."""
        entry = self.embedder(embedder_id) if embedder_id else (
            self.catalog.embedders[0] if self.catalog.embedders else None)
        if entry is None:
            self.error_occurred.emit(QCoreApplication.translate(
                "ModelManager", "The catalog lists no document-search model."))
            return None
        existing = self.download_for_embedder(entry.id)
        if existing is not None:
            return self.resume(existing.key)
        dest = self.embedder_dest(entry.id)
        if dest.exists():
            self.error_occurred.emit(QCoreApplication.translate(
                "ModelManager", "{name} is already downloaded.").format(name=entry.name))
            return None
        info = DownloadInfo(
            key=dest.relative_to(self.models_dir).as_posix(), kind="embedder", name=entry.name,
            repo=entry.repo, subfolder=entry.subfolder, dest=dest, state="starting",
            embedder_id=entry.id, total_bytes=entry.size_bytes, only=entry.files)
        return self._begin(info)

    def _begin(self, info: DownloadInfo) -> str | None:
        if self._offline:
            # Refused before any task: not a byte goes out in offline mode.
            self.error_occurred.emit(_offline_message())
            return None
        self._downloads[info.key] = info
        self._pending.put(info)
        self._run_download(info)
        return info.key

    def _run_download(self, info: DownloadInfo) -> None:
        library, pending, offline = self.library, self._pending, self._offline
        endpoint = self._endpoint or os.environ.get("HF_ENDPOINT") or None
        token_fn = self._token
        embedder = self.embedder(info.embedder_id) if info.embedder_id else None

        def work(cancel: CancelToken, progress: Callable[[object], None]) -> object:
            from app.core import downloads

            token = token_fn()
            try:
                plan = downloads.plan_download(info.repo, info.subfolder, token=token,
                                               offline=offline, endpoint=endpoint,
                                               only=info.only)
                if info.kind == "model":
                    _check_is_model(plan.files, info)
                progress(_Planned(plan.total_bytes))
                pending.set_total(info.key, plan.total_bytes)
                if cancel.cancelled:
                    raise DownloadStopped(0, plan.total_bytes)
                result = downloads.download_model(plan, info.dest, token=token, offline=offline,
                                                  endpoint=endpoint, progress=progress,
                                                  cancel=cancel)
            except DownloadError as exc:
                log.warning("download of %s failed: %s (%s)", info.key, exc.user_message,
                            exc.detail)
                return _Failed(exc.user_message, _needs_token(exc))
            if info.kind == "embedder":
                _write_embedder_config(info.dest, embedder)
                return info.dest
            return library.add_downloaded(
                result.folder, repo=result.repo, subfolder=result.subfolder or None,
                revision=result.revision, files=result.files, catalog_id=info.catalog_id,
                name=info.name)

        tid = self._start(
            work, cancelled_types=(DownloadStopped,),
            done=lambda result: self._on_download_done(info.key, result),
            failed=lambda message: self._on_download_error(info.key, message),
            cancelled=lambda: self._on_download_stopped(info.key),
            progressed=lambda value: self._on_download_progress(info.key, value))
        self._download_tasks[info.key] = tid
        self._downloads[info.key] = replace(
            info, state="starting" if not info.done_bytes else "downloading", error="",
            needs_token=False)
        self.downloads_changed.emit()

    def pause(self, key: str) -> None:
        """Stop a running download, keeping what arrived; `download_paused` follows."""
        tid = self._download_tasks.get(key)
        if tid is None:
            return
        self._stop_reason[key] = "pause"
        self._runner.cancel(tid)
        self._update(key, state="stopping")

    def resume(self, key: str) -> str | None:
        """Go on with a paused or failed download from the bytes already there."""
        info = self._downloads.get(key)
        if info is None or key in self._download_tasks:
            return key if info is not None else None
        if not info.resumable:
            self.download_failed.emit(key, QCoreApplication.translate(
                "ModelManager", "Hearth does not know where this download came from; discard it "
                "and start it again."))
            return None
        if self._offline:
            self.download_failed.emit(key, _offline_message())
            return None
        self._pending.put(info)
        self._run_download(info)
        return key

    def cancel(self, key: str) -> None:
        """Stop a download and delete what it fetched (also a paused or failed one)."""
        if key not in self._downloads:
            return
        tid = self._download_tasks.get(key)
        if tid is not None:
            self._stop_reason[key] = "cancel"
            self._runner.cancel(tid)
            self._update(key, state="stopping")
        else:
            self._discard(key)

    def _discard(self, key: str) -> None:
        info = self._downloads.get(key)
        if info is None:
            return
        self._update(key, state="stopping")
        pending = self._pending

        def work(_cancel: CancelToken, _progress: Callable[[object], None]) -> bool:
            pending.remove(key)
            return discard_partial(info.dest)

        self._start(work, done=lambda _r: self._on_discarded(key),
                    failed=lambda message: self._on_download_error(key, message))

    # -- installed models -----------------------------------------------------------------------
    def import_folder(self, folder: str, *, link: bool = False) -> bool:
        """Copy a model folder into the library (or, with `link`, register it where it is);
        False while another import runs."""
        if self._import_task is not None:
            return False
        library = self.library

        def work(cancel: CancelToken, progress: Callable[[object], None]) -> object:
            return library.import_folder(folder, link=link, cancel=cancel,
                                         progress=lambda done, total: progress((done, total)))

        self._import_task = self._start(
            work, done=self._on_imported, failed=self._on_import_failed,
            cancelled=self._on_import_cancelled,
            progressed=lambda value: self.import_progressed.emit(*value))
        return True

    @property
    def importing(self) -> bool:
        """Whether an import is running."""
        return self._import_task is not None

    def cancel_import(self) -> None:
        """Stop the running import; the partial copy is removed."""
        if self._import_task is not None:
            self._runner.cancel(self._import_task)

    def remove(self, model_id: str) -> None:
        """Forget a model and delete its folder if Hearth owns it; `model_removed` follows."""
        library = self.library
        self._start(lambda _c, _p: library.remove(model_id),
                    done=lambda freed: self._on_removed(model_id, freed),
                    failed=self._on_remove_failed)

    def verify(self, model_id: str) -> None:
        """Check a model's files against what was installed; `verified` follows."""
        library = self.library

        def work(cancel: CancelToken, _progress: Callable[[object], None]) -> object:
            return library.verify(model_id, cancel=cancel)

        self._start(work, done=lambda report: self.verified.emit(model_id, report),
                    failed=self.error_occurred.emit,
                    cancelled=lambda: self.verified.emit(model_id, None))

    def mark_used(self, model_id: str) -> None:
        """Record that a model was loaded (for "last used" and the order of the list)."""
        library = self.library
        self._start(lambda _c, _p: library.mark_used(model_id),
                    done=lambda _m: self.refresh(), failed=self.error_occurred.emit)

    def remove_embedder(self, embedder_id: str) -> None:
        """Delete a downloaded document-search model."""
        dest = self.embedder_dest(embedder_id)

        def work(_cancel: CancelToken, _progress: Callable[[object], None]) -> None:
            try:
                shutil.rmtree(dest)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise ModelLibraryError(f"{dest} could not be deleted: {exc.strerror or exc}.",
                                        detail=repr(exc)) from exc

        self._start(work, done=lambda _r: self.embedders_changed.emit(),
                    failed=self.error_occurred.emit)

    # -- search ---------------------------------------------------------------------------------
    def search(self, query: str) -> bool:
        """Search Hugging Face for ONNX models; False (and no connection) in offline mode."""
        if self._offline or not query.strip():
            return False
        offline, token_fn = self._offline, self._token
        endpoint = self._endpoint or os.environ.get("HF_ENDPOINT") or None

        def work(_cancel: CancelToken, _progress: Callable[[object], None]) -> object:
            from app.core.downloads import search_models

            return search_models(query, token=token_fn(), offline=offline, endpoint=endpoint)

        self._start(work, done=lambda results: self.search_finished.emit(query, results),
                    failed=self.search_failed.emit)
        return True

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Pause the running downloads (their bytes wait for the next start) and cancel the
        other tasks; waits for the pool."""
        for key in list(self._download_tasks):
            self._stop_reason[key] = "pause"
        self._runner.shutdown(timeout_ms)

    # -- running tasks --------------------------------------------------------------------------
    def _start(self, fn: Callable[[CancelToken, Callable[[object], None]], object], *,
               done: Callable[[Any], None], failed: Callable[[str], None],
               cancelled: Callable[[], None] | None = None,
               progressed: Callable[[Any], None] | None = None,
               cancelled_types: tuple[type[BaseException], ...] = ()) -> int:
        tid = self._runner.start(fn, cancelled_types)
        # Signals are queued to this thread, so the callbacks are in place before any arrives.
        self._callbacks[tid] = _Callbacks(done, failed, cancelled, progressed)
        return tid

    @Slot(int, object)
    def _on_runner_progressed(self, tid: int, value: object) -> None:
        callbacks = self._callbacks.get(tid)
        if callbacks is not None and callbacks.progressed is not None:
            callbacks.progressed(value)

    @Slot(int, object)
    def _on_runner_finished(self, tid: int, result: object) -> None:
        callbacks = self._callbacks.pop(tid, None)
        if callbacks is not None:
            callbacks.done(result)

    @Slot(int, str)
    def _on_runner_failed(self, tid: int, message: str) -> None:
        callbacks = self._callbacks.pop(tid, None)
        if callbacks is not None:
            callbacks.failed(message)

    @Slot(int)
    def _on_runner_cancelled(self, tid: int) -> None:
        callbacks = self._callbacks.pop(tid, None)
        if callbacks is not None and callbacks.cancelled is not None:
            callbacks.cancelled()

    # -- task results (GUI thread) --------------------------------------------------------------
    def _on_hardware(self, hardware: Hardware) -> None:
        self.detecting = False
        self.hardware = hardware
        self.fits = tuple(assess_all(self.catalog, hardware))
        self.recommendation = recommend(self.catalog, hardware) if len(self.catalog) else None
        log.info("hardware: %s", hardware.as_dict())
        self.hardware_detected.emit(hardware)

    def _on_hardware_failed(self, message: str) -> None:
        self.detecting = False
        self.error_occurred.emit(message)

    def _on_snapshot(self, snapshot: _Snapshot) -> None:
        if snapshot.seq != self._refresh_seq:
            return  # a later refresh is on its way, with a newer picture of the disk
        self.models = snapshot.models
        self.warnings = snapshot.warnings
        added = False
        # A download that ended while the disk was read must not come back as "found".
        if snapshot.epoch == self._epoch:
            for info in snapshot.partials:
                if info.key not in self._downloads and not info.dest.exists():
                    self._downloads[info.key] = info
                    added = True
        self.library_changed.emit(list(self.models))
        if added:
            self.downloads_changed.emit()

    def _update(self, key: str, **changes: Any) -> DownloadInfo | None:
        info = self._downloads.get(key)
        if info is None:
            return None
        new = replace(info, **changes)
        self._downloads[key] = new
        if new.state != info.state or new.error != info.error:
            self.downloads_changed.emit()
        return new

    def _on_download_progress(self, key: str, value: object) -> None:
        if key not in self._download_tasks:
            return
        current = self._downloads.get(key)
        stopping = current is not None and current.state == "stopping"
        if isinstance(value, _Planned):
            new = self._update(key, total_bytes=value.total_bytes,
                               state="stopping" if stopping else "downloading")
        elif isinstance(value, DownloadProgress):
            new = self._update(key, done_bytes=value.done_bytes, total_bytes=value.total_bytes,
                               bytes_per_s=value.bytes_per_s, eta_s=value.eta_s,
                               state="stopping" if stopping else "downloading")
        else:
            return
        if new is not None:
            self.download_progressed.emit(key, new)

    def _end_task(self, key: str) -> str:
        self._download_tasks.pop(key, None)
        return self._stop_reason.pop(key, "")

    def _on_download_done(self, key: str, result: object) -> None:
        self._end_task(key)
        if isinstance(result, _Failed):
            self._fail(key, result.message, result.needs_token)
            return
        info = self._downloads.pop(key, None)
        self._epoch += 1
        self._pending.remove(key)
        self.downloads_changed.emit()
        if info is not None and info.kind == "embedder":
            self.embedders_changed.emit()
        else:
            self.refresh()
        self.download_finished.emit(key, result)

    def _on_download_error(self, key: str, message: str) -> None:
        self._end_task(key)
        self._fail(key, message, False)

    def _fail(self, key: str, message: str, needs_token: bool) -> None:
        self._update(key, state="failed", error=message, needs_token=needs_token,
                     bytes_per_s=0.0, eta_s=None)
        self.download_failed.emit(key, message)

    def _on_download_stopped(self, key: str) -> None:
        reason = self._end_task(key)
        if reason == "cancel":
            self._discard(key)
            return
        self._update(key, state="paused", bytes_per_s=0.0, eta_s=None)
        self.download_paused.emit(key)

    def _on_discarded(self, key: str) -> None:
        self._downloads.pop(key, None)
        self._epoch += 1
        self.downloads_changed.emit()
        self.download_cancelled.emit(key)

    def _on_imported(self, model: InstalledModel | None) -> None:
        self._import_task = None
        self.refresh()
        if model is None:
            self.import_cancelled.emit()
        else:
            self.import_finished.emit(model)

    def _on_import_failed(self, message: str) -> None:
        self._import_task = None
        self.import_failed.emit(message)

    def _on_import_cancelled(self) -> None:
        self._import_task = None
        self.import_cancelled.emit()

    def _on_removed(self, model_id: str, freed: int) -> None:
        self.refresh()
        self.model_removed.emit(model_id, freed)

    def _on_remove_failed(self, message: str) -> None:
        self.refresh()
        self.error_occurred.emit(message)


def _check_is_model(files: tuple[Any, ...], info: DownloadInfo) -> None:
    """Refuse a sub-folder that is not one ONNX Runtime GenAI model (as `hearth models
    download` does), naming the sub-folders that are."""
    names = [f.path for f in files]
    if GENAI_CONFIG in names:
        return
    where = f"{info.repo}/{info.subfolder}" if info.subfolder else info.repo
    builds = sorted({n[:-len(GENAI_CONFIG)].rstrip("/") for n in names
                     if n.endswith("/" + GENAI_CONFIG)})
    if not builds:
        raise DownloadError(f"{where} holds no {GENAI_CONFIG}: it is not a model for ONNX "
                            "Runtime GenAI.")
    prefix = f"{info.subfolder}/" if info.subfolder else ""
    raise DownloadError(f"{where} holds several models; enter one of these sub-folders: "
                        + ", ".join(prefix + b for b in builds) + ".")


def _write_embedder_config(folder: Path, entry: EmbedderEntry | None) -> None:
    """Record the catalog's prefixes and length limit beside the embedder's files."""
    if entry is None:
        return
    config = {"query_prefix": entry.query_prefix, "passage_prefix": entry.passage_prefix,
              "max_tokens": entry.max_tokens, "pooling": "mean"}
    try:
        write_atomic(folder / EMBEDDER_CONFIG_FILE,
                     json.dumps(config, indent=1, ensure_ascii=False).encode("utf-8"))
    except OSError as exc:
        # The embedder still works: known models are recognised by their folder name.
        log.warning("could not write %s in %s: %s", EMBEDDER_CONFIG_FILE, folder, exc)
