"""Model downloads from the Hugging Face hub: plan, fetch with resume, verify, install.

`plan_download` asks the hub (through `huggingface_hub.HfApi.model_info` with file metadata) which
files a repo's sub-folder holds, with sizes and checksums, pinned to one commit. `download_model`
fetches them into a staging folder beside the destination (`<models>/.partial/<name>`), checks
each file's size and sha256 (LFS files) or git blob id (regular files), and only when every file
is there and verified moves the folder into place with one `os.replace`: there is never a
half-installed model at the destination.

Why not `hf_hub_download`: in huggingface_hub 2.4 it writes each file to a process-unique temp
file and deletes it on any failure, so a pause, a crash or a full disk throws the partial bytes
away; and its `http_get` reads 10 MiB chunks, too coarse to pause promptly or to report progress
on a slow line. So the file bodies are fetched here with the client's own session, headers, URLs
and error mapping (`get_session`, `build_hf_headers`, `hf_hub_url`, `hf_raise_for_status`), with
a `Range` request that continues from the bytes already on disk, even after the process was
killed. Files are fetched over plain HTTPS (the hub redirects Xet-stored files to a CDN that
serves ranges), not through hf_xet, whose transfers cannot be resumed from Hearth's staging.

Privacy: `offline=True` (the `privacy.offline_mode` setting) raises `OfflineError` before
huggingface_hub is even imported. The token goes only into the Authorization header: it is never
logged, written to a file, or quoted in an error. Without a token no credentials are sent at all
(not even one saved by the `hf` command-line tool).

Pause and cancel both stop through a `CancelToken` (checked on every received chunk) and raise
`DownloadStopped`, keeping the staged bytes; cancel then calls `discard_partial`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn
from urllib.parse import urlsplit

from app.core.chat import CancelToken
from app.core.errors import DownloadError, OfflineError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger(__name__)

PARTIAL_DIR = ".partial"
"""Beside the installed models: `<models>/.partial/<name>` holds a download in progress."""
STATE_FILE = ".hearth-download.json"
INCOMPLETE_SUFFIX = ".incomplete"
API_TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
RETRIES = 5
"""Attempts per file without any new byte before a dropped connection becomes an error."""
RETRY_WAIT_S = 0.25
SPACE_MARGIN_BYTES = 16 * 1024 * 1024
"""Free space kept on top of the download (plus 1%): file-system overhead, logs, settings."""
PROGRESS_INTERVAL_S = 0.1
SPEED_TIME_CONSTANT_S = 3.0
HASH_BLOCK = 1024 * 1024
INSTALL_ATTEMPTS = 5
GENAI_CONFIG = "genai_config.json"
USER_AGENT_LIBRARY = "hearth"

_OFFLINE_MESSAGE = ("Offline mode is on, so Hearth does not connect to Hugging Face. Turn it off "
                    "in Settings (Privacy) to search for or download models.")
_GATED_NO_TOKEN = ("This model needs a Hugging Face token with access: accept its licence on "
                   "huggingface.co and add the token in Settings.")


@dataclass(frozen=True)
class RemoteFile:
    """A file of the planned sub-folder: its path relative to the sub-folder and its checksums."""

    path: str
    size: int
    sha256: str | None
    """For LFS files (all the big ones): the sha256 of the content."""
    blob_id: str | None
    """The git object id; used to verify regular (non-LFS) files."""


@dataclass(frozen=True)
class DownloadPlan:
    """What `download_model` will fetch: one sub-folder of a repo at one commit."""

    repo: str
    subfolder: str
    revision: str
    """The commit hash the plan was made for; every file is fetched at this commit."""
    files: tuple[RemoteFile, ...]
    total_bytes: int


@dataclass(frozen=True)
class DownloadProgress:
    """A progress report; sent at most every `PROGRESS_INTERVAL_S`, and once at the end."""

    done_bytes: int
    total_bytes: int
    bytes_per_s: float
    """Smoothed transfer speed (bytes fetched in this run only)."""
    eta_s: float | None
    current_file: str
    files_done: int
    files_total: int

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0


class InstalledFile(NamedTuple):
    """A downloaded, verified file: what the model library records in its manifest."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DownloadResult:
    """An installed download."""

    folder: Path
    repo: str
    subfolder: str
    revision: str
    files: tuple[InstalledFile, ...]
    fetched_bytes: int
    """Bytes received over the network in this run."""
    resumed_bytes: int
    """Bytes that were already in the staging folder and were not fetched again."""


@dataclass(frozen=True)
class RemoteModel:
    """A search result."""

    repo: str
    downloads: int
    likes: int
    tags: tuple[str, ...]
    gated: bool
    genai_subfolders: tuple[str, ...]
    """Sub-folders holding a genai_config.json ("" for the repo root): the loadable builds."""

    @property
    def loadable(self) -> bool:
        """Whether the repo has at least one ONNX Runtime GenAI build."""
        return bool(self.genai_subfolders)


class DownloadStopped(Exception):
    """The download was stopped through its CancelToken; the staged bytes are kept.

    Not an AppError: a pause or a cancel is the user's choice. To cancel, call `discard_partial`
    after catching this; to pause, do nothing and call `download_model` again later.
    """

    def __init__(self, done_bytes: int, total_bytes: int) -> None:
        super().__init__(f"download stopped at {done_bytes} of {total_bytes} bytes")
        self.done_bytes = done_bytes
        self.total_bytes = total_bytes


# -- public functions -------------------------------------------------------------------------


def plan_download(repo: str, subfolder: str = "", *, revision: str = "main",
                  token: str | None = None, offline: bool = False, endpoint: str | None = None,
                  only: Sequence[str] | None = None) -> DownloadPlan:
    """List the files of `repo`'s `subfolder` with their sizes and checksums.

    `only` restricts the plan to these paths (relative to the sub-folder), for repos that carry
    several exports of which one is wanted. Raises DownloadError for an unknown repo, revision or
    sub-folder (naming the sub-folders that hold a model), a gated or private repo without a
    token with access, a refused token, or no connection; OfflineError when `offline`.
    """
    _refuse_offline(offline)
    subfolder = _clean_subfolder(subfolder)
    context = _Context(repo, token, endpoint)
    api = context.api()
    try:
        info = api.model_info(repo, revision=revision, files_metadata=True,
                              timeout=API_TIMEOUT_S)
    except Exception as exc:
        context.fail(exc, revision=revision)
    commit = info.sha or revision
    siblings = info.siblings or []
    prefix = f"{subfolder}/" if subfolder else ""
    chosen = [s for s in siblings if s.rfilename.startswith(prefix)]
    if not chosen:
        raise DownloadError(_no_subfolder_message(repo, subfolder,
                                                  [s.rfilename for s in siblings]))
    files: list[RemoteFile] = []
    for sibling in chosen:
        rel = _safe_relpath(sibling.rfilename[len(prefix):], repo)
        size = sibling.lfs.size if sibling.lfs is not None else sibling.size
        if size is None:
            raise DownloadError(f"Hugging Face did not report the size of {sibling.rfilename} "
                                f"in {repo}; try again later.")
        files.append(RemoteFile(rel, int(size),
                                sibling.lfs.sha256 if sibling.lfs is not None else None,
                                sibling.blob_id))
    if only is not None:
        wanted = {_safe_relpath(p, repo) for p in only}
        missing = sorted(wanted - {f.path for f in files})
        if missing:
            raise DownloadError(f"{repo} has no {', '.join(missing)} in "
                                f"{subfolder or 'its top folder'}.")
        files = [f for f in files if f.path in wanted]
    files.sort(key=lambda f: f.path)
    if info.gated or info.private:
        # A gated repo shows its file list to everyone but serves the files only to accepted
        # tokens: check access now rather than after the user has waited for a download.
        context.check_access(f"{prefix}{files[0].path}", commit)
    return DownloadPlan(repo, subfolder, commit, tuple(files), sum(f.size for f in files))


def download_model(plan: DownloadPlan, dest: Path, *, token: str | None = None,
                   offline: bool = False, endpoint: str | None = None,
                   progress: Callable[[DownloadProgress], None] | None = None,
                   cancel: CancelToken | None = None) -> DownloadResult:
    """Download `plan` so that its sub-folder's contents end up directly in `dest`.

    Continues a download staged earlier (by a paused, failed or killed run) for the same commit.
    Raises DownloadStopped when `cancel` is set, DownloadError for a full disk (checked before
    starting, and on a real "disk full" while writing), a corrupted file, a lost connection or a
    refused request (staged data is kept for a retry, except a corrupted file), OfflineError
    when `offline`.
    """
    _refuse_offline(offline)
    dest = Path(dest)
    if dest.exists():
        raise DownloadError(f"{dest} already exists. Remove it or choose another name for the "
                            "model.")
    staging = partial_dir(dest)
    context = _Context(plan.repo, token, endpoint)
    try:
        staging.mkdir(parents=True, exist_ok=True)
        state = _State.load(staging, plan)
    except OSError as exc:
        raise _write_error(exc, staging, plan, 0) from exc
    staged = state.staged_bytes(staging, plan)
    try:
        _check_space(staging, plan.total_bytes - staged)
    except DownloadError:
        _remove_if_empty(staging)
        raise
    run = _Run(plan, progress, cancel, resumed=staged)
    run.emit(force=True)
    installed: list[InstalledFile] = []
    for remote in plan.files:
        done = state.verified.get(remote.path)
        if done is not None:
            installed.append(InstalledFile(remote.path, remote.size, done))
            run.files_done += 1
            continue
        run.current_file = remote.path
        try:
            sha256 = _fetch_file(context, plan, remote, staging, run)
            state.verified[remote.path] = sha256
            state.save(staging)
        except OSError as exc:
            raise _write_error(exc, staging, plan, run.done) from exc
        installed.append(InstalledFile(remote.path, remote.size, sha256))
        run.files_done += 1
    run.emit(force=True)
    _install(staging, dest)
    log.info("downloaded %s/%s at %s into %s (%d bytes fetched, %d resumed)", plan.repo,
             plan.subfolder, plan.revision[:12], dest, run.fetched, staged)
    return DownloadResult(dest, plan.repo, plan.subfolder, plan.revision, tuple(installed),
                          run.fetched, staged)


def partial_dir(dest: Path) -> Path:
    """The staging folder of a download whose destination is `dest`."""
    return dest.parent / PARTIAL_DIR / dest.name


def partial_bytes(dest: Path) -> int:
    """How many bytes of a download to `dest` are staged (0 if none)."""
    staging = partial_dir(dest)
    if not staging.is_dir():
        return 0
    return sum(p.stat().st_size for p in staging.rglob("*")
               if p.is_file() and p.name != STATE_FILE)


def discard_partial(dest: Path) -> bool:
    """Delete the staged data of a download to `dest` (a cancel); False if there was none."""
    staging = partial_dir(dest)
    if not staging.exists():
        return False
    try:
        shutil.rmtree(staging)
    except OSError as exc:
        raise DownloadError(f"The partial download in {staging} could not be deleted: "
                            f"{exc.strerror or exc}.", detail=repr(exc)) from exc
    with contextlib.suppress(OSError):
        staging.parent.rmdir()  # only succeeds when no other download is staged
    return True


def verify_files(folder: Path, files: Iterable[RemoteFile | InstalledFile], *,
                 cancel: CancelToken | None = None,
                 progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Check that each file is in `folder` with the right size and checksum.

    Returns one sentence per problem (missing, wrong size, checksum mismatch); an empty list
    means the folder is intact. `progress(done_bytes, total_bytes)` follows the hashing; raises
    DownloadStopped when `cancel` is set.
    """
    items = list(files)
    total = sum(f.size for f in items)
    done = 0
    problems: list[str] = []
    for item in items:
        path = folder / item.path
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            problems.append(f"{item.path} is missing.")
            continue
        except OSError as exc:
            problems.append(f"{item.path} cannot be read: {exc.strerror or exc}.")
            continue
        if size != item.size:
            problems.append(f"{item.path} has {size} bytes instead of {item.size}.")
            continue
        blob_id = item.blob_id if isinstance(item, RemoteFile) else None
        hasher = _Hasher(item.size, git=item.sha256 is None and blob_id is not None)
        try:
            with path.open("rb") as fh:
                while block := fh.read(HASH_BLOCK):
                    if cancel is not None and cancel.cancelled:
                        raise DownloadStopped(done, total)
                    hasher.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
        except OSError as exc:
            problems.append(f"{item.path} cannot be read: {exc.strerror or exc}.")
            continue
        if not hasher.matches(item.sha256, blob_id):
            problems.append(f"{item.path} does not match its checksum (damaged or modified).")
    return problems


def search_models(query: str, *, token: str | None = None, offline: bool = False,
                  endpoint: str | None = None, limit: int = 20,
                  tag: str | None = "onnx") -> list[RemoteModel]:
    """Search the hub for models matching `query`, ONNX Runtime GenAI builds first.

    Results carry the tag filter `tag` (ONNX repos by default) and are ordered by downloads,
    with repos that hold a genai_config.json (a build Hearth can load) ahead of the others.
    """
    _refuse_offline(offline)
    context = _Context("", token, endpoint)
    from huggingface_hub import get_session, hf_raise_for_status
    from huggingface_hub.hf_api import ModelInfo

    params: dict[str, Any] = {
        "search": query.strip(), "sort": "downloads", "limit": max(1, limit),
        "expand": ["downloads", "likes", "tags", "gated", "siblings"],
    }
    if tag:
        params["filter"] = [tag]
    # One request, not HfApi.list_models: that retries a refused connection five times with
    # back-off (about 20 s), too long to tell someone typing in a search box they are offline.
    try:
        response = get_session().get(f"{context.endpoint}/api/models", params=params,
                                     headers=context.headers(), timeout=API_TIMEOUT_S)
        hf_raise_for_status(response)
        items = response.json()
    except Exception as exc:
        context.fail(exc)
    results: list[RemoteModel] = []
    for item in items[:limit] if isinstance(items, list) else []:
        info = ModelInfo(**item)  # type: ignore[no-untyped-call]
        names = [s.rfilename for s in info.siblings or []]
        results.append(RemoteModel(
            repo=info.id, downloads=int(info.downloads or 0), likes=int(info.likes or 0),
            tags=tuple(info.tags or ()), gated=bool(info.gated),
            genai_subfolders=tuple(_genai_subfolders(names))))
    results.sort(key=lambda m: not m.loadable)  # stable: keeps the hub's order otherwise
    return results


# -- the hub ----------------------------------------------------------------------------------


def _refuse_offline(offline: bool) -> None:
    if offline:
        raise OfflineError(_OFFLINE_MESSAGE)


@dataclass
class _Context:
    """The endpoint and credentials of one call, and the translation of hub errors."""

    repo: str
    token: str | None
    endpoint_arg: str | None

    @property
    def endpoint(self) -> str:
        from huggingface_hub import constants

        return (self.endpoint_arg or constants.ENDPOINT).rstrip("/")

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname or self.endpoint

    def auth(self) -> str | bool:
        # False, not None: None would make huggingface_hub send a token saved by other tools.
        return self.token or False

    def api(self) -> HfApi:
        from huggingface_hub import HfApi

        from app import __version__

        return HfApi(endpoint=self.endpoint, token=self.auth(), library_name=USER_AGENT_LIBRARY,
                     library_version=__version__)

    def headers(self) -> dict[str, str]:
        from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

        from app import __version__

        return build_hf_headers(token=self.auth(), library_name=USER_AGENT_LIBRARY,
                                library_version=__version__)

    def url(self, path: str, revision: str) -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(self.repo, path, revision=revision, endpoint=self.endpoint)

    def check_access(self, path: str, revision: str) -> None:
        from huggingface_hub import get_hf_file_metadata

        try:
            get_hf_file_metadata(self.url(path, revision), token=self.auth(),
                                 timeout=API_TIMEOUT_S, headers=self.headers(),
                                 endpoint=self.endpoint)
        except Exception as exc:
            self.fail(exc)

    def fail(self, exc: Exception, *, revision: str | None = None,
             path: str | None = None) -> NoReturn:
        """Raise the DownloadError for a hub or network failure; re-raise anything else."""
        error = self.translate(exc, revision=revision, path=path)
        if error is None:
            raise exc
        raise error from exc

    def translate(self, exc: Exception, *, revision: str | None = None,
                  path: str | None = None) -> DownloadError | None:
        import httpx2
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            HFValidationError,
            OfflineModeIsEnabled,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        detail = f"{type(exc).__name__}: {exc}"
        if self.token:
            detail = detail.replace(self.token, "<token>")
        repo = self.repo
        message: str
        if isinstance(exc, OfflineModeIsEnabled):
            return OfflineError("HF_HUB_OFFLINE is set in the environment, so Hugging Face "
                                "cannot be reached. Unset it to download models.", detail=detail)
        if isinstance(exc, GatedRepoError):
            message = (_GATED_NO_TOKEN if not self.token else
                       f"Your Hugging Face token does not have access to {repo} yet: accept its "
                       f"licence on huggingface.co/{repo} with that account, then try again.")
        elif isinstance(exc, RepositoryNotFoundError):
            message = f"Hugging Face has no model {repo!r}."
            message += (" If it is private, your token needs access to it." if self.token else
                        " If it is private, add a Hugging Face token with access in Settings.")
        elif isinstance(exc, RevisionNotFoundError):
            message = f"{repo} has no branch, tag or commit {revision!r}."
        elif isinstance(exc, RemoteEntryNotFoundError):
            message = (f"{path or 'A file'} is no longer in {repo} at this version. Plan the "
                       "download again.")
        elif isinstance(exc, HFValidationError):
            message = f"{repo!r} is not a Hugging Face repository name (owner/name)."
        elif isinstance(exc, HfHubHTTPError):
            status = exc.response.status_code if exc.response is not None else 0
            if status == 401 and self.token:
                message = ("Hugging Face refused your token (expired, revoked or mistyped). "
                           "Replace it in Settings.")
            elif status in (401, 403):
                message = (f"Hugging Face refused access to {repo}. "
                           + ("Check that your token has read access." if self.token else
                              "It may need a token: add one in Settings."))
            elif status == 429:
                message = "Hugging Face is limiting requests right now; wait a few minutes."
            elif status >= 500:
                message = (f"Hugging Face is having trouble (HTTP {status}). Try again later; "
                           "a download continues where it stopped.")
            else:
                message = f"Hugging Face answered with an error (HTTP {status})."
        elif isinstance(exc, httpx2.TransportError | ConnectionError | TimeoutError):
            message = (f"Hearth can't reach {self.host}. Check the internet connection (or "
                       "proxy), then try again; a download continues where it stopped.")
        else:
            return None
        return DownloadError(message, detail=detail)


def _clean_subfolder(subfolder: str) -> str:
    cleaned = subfolder.replace("\\", "/").strip("/")
    if cleaned and any(p in ("", ".", "..") for p in cleaned.split("/")):
        raise DownloadError(f"{subfolder!r} is not a valid folder inside a repository.")
    return cleaned


def _safe_relpath(path: str, repo: str) -> str:
    parts = path.split("/")
    if (not path or path.startswith("/") or "\\" in path or ":" in parts[0]
            or any(p in ("", ".", "..") for p in parts)):
        raise DownloadError(f"{repo} lists a file with an unsafe name ({path!r}); Hearth will "
                            "not download it.")
    return path


def _genai_subfolders(names: Iterable[str]) -> list[str]:
    found = {n[:-len(GENAI_CONFIG)].rstrip("/") for n in names
             if n == GENAI_CONFIG or n.endswith("/" + GENAI_CONFIG)}
    return sorted(found)


def _no_subfolder_message(repo: str, subfolder: str, names: list[str]) -> str:
    builds = _genai_subfolders(names)
    where = f"no folder {subfolder!r}" if subfolder else "no files"
    if not builds:
        return (f"{repo} has {where}, and no folder in it holds a {GENAI_CONFIG}: it is not "
                "a model for ONNX Runtime GenAI.")
    listed = ", ".join(b or "(top folder)" for b in builds)
    return f"{repo} has {where}. Folders with a model Hearth can run: {listed}."


# -- staging ----------------------------------------------------------------------------------


@dataclass
class _State:
    """What is verified in a staging folder, for the plan's commit (`STATE_FILE`)."""

    repo: str
    subfolder: str
    revision: str
    verified: dict[str, str] = field(default_factory=dict)
    """Path -> sha256 of the files already downloaded and checked."""

    @classmethod
    def load(cls, staging: Path, plan: DownloadPlan) -> _State:
        fresh = cls(plan.repo, plan.subfolder, plan.revision)
        try:
            data = json.loads((staging / STATE_FILE).read_text("utf-8"))
        except FileNotFoundError:
            data = None
        except (OSError, ValueError):
            data = {}  # unreadable: start over, safely
        if data is None:
            return fresh.adopt_unrecorded(staging, plan)
        same = (isinstance(data, dict) and data.get("repo") == plan.repo
                and data.get("subfolder") == plan.subfolder
                and data.get("revision") == plan.revision)
        if not same:
            # Bytes from another commit cannot be mixed with this one's.
            log.info("discarding %s: staged for another version", staging)
            shutil.rmtree(staging)
            staging.mkdir(parents=True)
            return fresh
        sizes = {f.path: f.size for f in plan.files}
        verified = data.get("verified", {})
        if isinstance(verified, dict):
            for path, sha in verified.items():
                target = staging / str(path)
                if (path in sizes and isinstance(sha, str) and target.is_file()
                        and target.stat().st_size == sizes[path]):
                    fresh.verified[path] = sha
        return fresh.adopt_unrecorded(staging, plan)

    def adopt_unrecorded(self, staging: Path, plan: DownloadPlan) -> _State:
        """Count files a killed run finished but could not record, when their checksum holds."""
        for remote in plan.files:
            if remote.path not in self.verified:
                sha = _complete_unrecorded(staging, remote)
                if sha is not None:
                    self.verified[remote.path] = sha
        return self

    def save(self, staging: Path) -> None:
        tmp = staging / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps({"schema": 1, "repo": self.repo, "subfolder": self.subfolder,
                                   "revision": self.revision, "verified": self.verified},
                                  indent=1), "utf-8")
        os.replace(tmp, staging / STATE_FILE)

    def staged_bytes(self, staging: Path, plan: DownloadPlan) -> int:
        total = 0
        for remote in plan.files:
            if remote.path in self.verified:
                total += remote.size
                continue
            part = staging / (remote.path + INCOMPLETE_SUFFIX)
            with contextlib.suppress(OSError):
                total += min(part.stat().st_size, remote.size)
        return total


def _complete_unrecorded(staging: Path, remote: RemoteFile) -> str | None:
    """The sha256 of a file finished by a run killed before it could record it, if intact."""
    target = staging / remote.path
    try:
        if not target.is_file() or target.stat().st_size != remote.size:
            return None
    except OSError:
        return None
    hasher = _hash_prefix(target, remote, remote.size)
    return hasher.sha256.hexdigest() if hasher.matches(remote.sha256, remote.blob_id) else None


def _free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def _check_space(staging: Path, needed: int) -> None:
    free = _free_bytes(staging)
    margin = SPACE_MARGIN_BYTES + needed // 100
    if needed > 0 and free < needed + margin:
        raise DownloadError(
            f"Not enough free disk space: this download needs {_size(needed + margin)} "
            f"(including a safety margin) and {staging.parent.parent} has {_size(free)} free. "
            "Free some space or choose another models folder.")


def _write_error(exc: OSError, staging: Path, plan: DownloadPlan, done: int) -> DownloadError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        try:
            free = _size(_free_bytes(staging))
        except OSError:
            free = "no space"
        return DownloadError(
            f"The disk is full ({free} left) with {_size(plan.total_bytes - done)} of the model "
            "still to download. Free some space, then resume: the "
            f"{_size(done)} already downloaded are kept.", detail=repr(exc))
    return DownloadError(f"Hearth could not write the download in {staging}: "
                         f"{exc.strerror or exc}.", detail=repr(exc))


def _remove_if_empty(staging: Path) -> None:
    with contextlib.suppress(OSError):
        staging.rmdir()
        staging.parent.rmdir()


def _install(staging: Path, dest: Path) -> None:
    (staging / STATE_FILE).unlink(missing_ok=True)
    for stray in staging.rglob("*" + INCOMPLETE_SUFFIX):
        stray.unlink()
    for attempt in range(INSTALL_ATTEMPTS):
        try:
            os.replace(staging, dest)
            break
        except OSError as exc:
            # Windows: a virus scanner briefly holds the new files open; wait and retry.
            if isinstance(exc, PermissionError) and attempt < INSTALL_ATTEMPTS - 1:
                time.sleep(0.25 * (attempt + 1))
                continue
            raise DownloadError(f"The downloaded model could not be moved to {dest}: "
                                f"{exc.strerror or exc}. Try again; nothing needs to be "
                                "downloaded again.", detail=repr(exc)) from exc
    with contextlib.suppress(OSError):
        staging.parent.rmdir()


# -- fetching ---------------------------------------------------------------------------------


class _Hasher:
    """sha256 of a file's content, plus its git blob id when that is what the hub gave."""

    def __init__(self, size: int, *, git: bool) -> None:
        self.sha256 = hashlib.sha256()
        self.git = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False) if git else None

    def update(self, block: bytes) -> None:
        self.sha256.update(block)
        if self.git is not None:
            self.git.update(block)

    def matches(self, sha256: str | None, blob_id: str | None) -> bool:
        if sha256 is not None:
            return self.sha256.hexdigest() == sha256.lower()
        if blob_id is not None and self.git is not None:
            return self.git.hexdigest() == blob_id.lower()
        return True  # the hub gave no checksum: the size check is all there is


class _Run:
    """Byte counts, speed and throttled progress reports of one `download_model` call."""

    def __init__(self, plan: DownloadPlan, progress: Callable[[DownloadProgress], None] | None,
                 cancel: CancelToken | None, *, resumed: int) -> None:
        self.plan = plan
        self.progress = progress
        self.cancel = cancel
        self.done = resumed
        self.fetched = 0
        self.files_done = 0
        self.current_file = ""
        self.speed = 0.0
        self._last_emit = -math.inf
        self._last_sample = time.monotonic()
        self._sample_fetched = 0

    def check(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise DownloadStopped(self.done, self.plan.total_bytes)

    def add(self, n: int) -> None:
        self.done += n
        self.fetched += n
        self.emit()

    def rewind(self, n: int) -> None:
        """`n` staged bytes turned out unusable (the server restarted the file)."""
        self.done -= n

    def emit(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_emit < PROGRESS_INTERVAL_S:
            return
        dt = now - self._last_sample
        if dt > 0 and self.fetched > self._sample_fetched:
            rate = (self.fetched - self._sample_fetched) / dt
            # Exponential smoothing over ~3 s: steady numbers without lagging a real change.
            alpha = 1.0 if self.speed == 0 else 1 - math.exp(-dt / SPEED_TIME_CONSTANT_S)
            self.speed += alpha * (rate - self.speed)
            self._last_sample, self._sample_fetched = now, self.fetched
        elif dt > SPEED_TIME_CONSTANT_S:
            self.speed, self._last_sample = 0.0, now  # stalled
        self._last_emit = now
        if self.progress is None:
            return
        remaining = self.plan.total_bytes - self.done
        eta = remaining / self.speed if self.speed > 0 else (0.0 if remaining <= 0 else None)
        self.progress(DownloadProgress(self.done, self.plan.total_bytes, self.speed, eta,
                                       self.current_file, self.files_done,
                                       len(self.plan.files)))

    def wait(self, seconds: float) -> None:
        """Sleep before a retry, waking early for a cancel."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check()
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        self.check()


def _fetch_file(context: _Context, plan: DownloadPlan, remote: RemoteFile, staging: Path,
                run: _Run) -> str:
    """Download one file into `staging` (continuing a partial one), verify it, return its sha256.

    The partial bytes live in `<path>.incomplete` until the whole file matches its checksum;
    then it is renamed to its final name. A mismatch deletes it and raises DownloadError.
    """
    import httpx2

    target = staging / remote.path
    part = target.with_name(target.name + INCOMPLETE_SUFFIX)
    part.parent.mkdir(parents=True, exist_ok=True)
    repo_path = f"{plan.subfolder}/{remote.path}" if plan.subfolder else remote.path
    url = context.url(repo_path, plan.revision)
    attempts = 0
    while True:
        run.check()
        offset = part.stat().st_size if part.exists() else 0
        if offset > remote.size:
            part.unlink()
            run.rewind(remote.size)
            offset = 0
        if offset == remote.size:
            hasher = _hash_prefix(part, remote, offset)
            break
        before = offset
        try:
            hasher, offset = _stream(context, url, remote, part, offset, run)
        except (httpx2.TransportError, _Incomplete) as exc:
            current = part.stat().st_size if part.exists() else 0
            attempts = 1 if current > before else attempts + 1
            if attempts > RETRIES:
                context.fail(exc if isinstance(exc, httpx2.TransportError)
                             else httpx2.ReadError(str(exc)), path=remote.path)
            log.warning("connection lost while downloading %s at %d bytes; retrying (%s)",
                        remote.path, current, type(exc).__name__)
            run.wait(RETRY_WAIT_S * 2 ** (attempts - 1))
            continue
        except DownloadStopped:
            raise
        except Exception as exc:
            context.fail(exc, path=remote.path)  # hub errors; anything else (disk) re-raised
        if offset == remote.size:
            break
    if not hasher.matches(remote.sha256, remote.blob_id):
        part.unlink(missing_ok=True)
        run.rewind(remote.size)
        raise DownloadError(f"{remote.path} was corrupted in transfer (it does not match the "
                            "checksum Hugging Face gives for it); try again.")
    os.replace(part, target)
    return hasher.sha256.hexdigest()


class _Incomplete(Exception):
    """The server ended a response before the whole file."""


def _hash_prefix(part: Path, remote: RemoteFile, length: int) -> _Hasher:
    hasher = _Hasher(remote.size, git=remote.sha256 is None and remote.blob_id is not None)
    if length:
        with part.open("rb") as fh:
            remaining = length
            while remaining and (block := fh.read(min(HASH_BLOCK, remaining))):
                hasher.update(block)
                remaining -= len(block)
    return hasher


def _stream(context: _Context, url: str, remote: RemoteFile, part: Path, offset: int,
            run: _Run) -> tuple[_Hasher, int]:
    """One GET from `offset`; appends to `part`; returns the hasher and the new size."""
    import httpx2
    from huggingface_hub import get_session, hf_raise_for_status

    headers = context.headers()
    # Exact bytes, not a compressed body, so sizes and ranges refer to the file itself.
    headers["Accept-Encoding"] = "identity"
    if offset:
        headers["Range"] = f"bytes={offset}-"
    timeout = httpx2.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    with get_session().stream("GET", url, headers=headers, timeout=timeout) as response:
        if response.status_code == 416 and offset:
            # The range is past the end: the staged bytes are not this file's. Start over.
            part.unlink(missing_ok=True)
            run.rewind(offset)
            raise _Incomplete("range not satisfiable")
        hf_raise_for_status(response)
        if offset and (response.status_code != 206
                       or not response.headers.get("Content-Range", "")
                       .startswith(f"bytes {offset}-")):
            # The server ignored the range and sends the whole file: restart it.
            run.rewind(offset)
            offset = 0
        hasher = _hash_prefix(part, remote, offset)
        with part.open("r+b" if offset else "wb") as fh:
            fh.seek(offset)
            fh.truncate()
            for chunk in response.iter_bytes():
                run.check()
                fh.write(chunk)
                hasher.update(chunk)
                offset += len(chunk)
                run.add(len(chunk))
                if offset > remote.size:
                    break  # more than advertised: the checksum will fail
    if offset < remote.size:
        raise _Incomplete(f"{offset} of {remote.size} bytes")
    return hasher, offset


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
