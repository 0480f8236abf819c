"""A real HTTP server on loopback that speaks the Hugging Face hub protocol, for download tests.

It answers the requests `huggingface_hub` 2.4 makes (read from its source, not guessed):

- `GET /api/models/{org}/{name}[/revision/{rev}]` (`HfApi.model_info`): the model info with
  `sha` (the commit) and `siblings`; with `?blobs=true` (`files_metadata=True`) each sibling has
  `size`, `blobId` and, for LFS files, `lfs: {size, sha256, pointerSize}`.
- `GET /api/models?search=&filter=&sort=&limit=&expand=` (`HfApi.list_models` and Hearth's search).
- `HEAD|GET /{org}/{name}/resolve/{rev}/{path}` (`get_hf_file_metadata`, `hf_hub_download`,
  plain file fetches): `ETag` (sha256 for LFS files, the git blob sha1 otherwise), `X-Repo-Commit`,
  `X-Linked-Size` / `X-Linked-Etag` for LFS files, `Content-Length`, `Accept-Ranges`, and `Range`
  requests answered with 206 and `Content-Range`.
- Errors the way the hub sends them, so the client raises its own exception types: `X-Error-Code`
  `RepoNotFound` (401 without a token, 404 with one), `RevisionNotFound`, `EntryNotFound`,
  `GatedRepo` (401 without a token, 403 with a token lacking access) and 401 with
  `X-Error-Message: Invalid credentials in Authorization header` for an unknown token.

No Xet headers are ever sent, so the client downloads over plain HTTP.

Knobs for tests: `throttle_bps`, `cut_after` (drop the connection once after N bytes of a file),
`corrupt` (serve flipped bytes for a file), and counters (`connections`, `bytes_served`,
`requests`). Files are named by their path in the repo (`cpu_and_mobile/cpu-fp32/model.onnx`).

Manual run (serves the committed tiny models unless `--repo` is given)::

    python -m tests.hub_server --port 8765
    python -m tests.hub_server --repo me/model:cpu_and_mobile/cpu-int4=path/to/folder \
        --gated me/model --token hf_secret
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

FIXTURE_MODELS = Path(__file__).parent / "fixtures" / "models"
LLAMA_REPO = "hearth-test/tiny-llama-onnx"
LLAMA_SUBFOLDER = "cpu_and_mobile/cpu-fp32"
GPTOSS_REPO = "hearth-test/tiny-gptoss-onnx"
GPTOSS_SUBFOLDER = "cpu_and_mobile/cpu-int4"

LFS_SUFFIXES = (".onnx", ".data", ".onnx_data", ".bin", ".safetensors", ".gguf", ".pb")
LFS_NAMES = frozenset({"tokenizer.json"})
SLICE = 16 * 1024
_FLIP = bytes(b ^ 0xFF for b in range(256))
_TIMESTAMP = "2025-01-01T00:00:00.000Z"


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob with this content (the hub's ETag for a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file that git stores in place of an LFS file."""
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
            .encode())


@dataclass(frozen=True)
class HubFile:
    """One file of a repo: its content (on disk or inline) and the hashes the hub reports."""

    path: str
    size: int
    sha256: str
    blob_id: str
    """The git oid: of the content for a regular file, of the pointer for an LFS file."""
    lfs: bool
    source: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, path: str, *, source: Path | None = None, data: bytes | None = None) -> HubFile:
        content = data if data is not None else (source.read_bytes() if source else b"")
        sha256 = hashlib.sha256(content).hexdigest()
        name = path.rsplit("/", 1)[-1]
        lfs = name.endswith(LFS_SUFFIXES) or name in LFS_NAMES
        blob_id = git_blob_sha1(lfs_pointer(sha256, len(content)) if lfs else content)
        return cls(path, len(content), sha256, blob_id, lfs, source, data)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob_id

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """The bytes [start, end) in slices."""
        if self.data is not None:
            for pos in range(start, end, SLICE):
                yield self.data[pos:min(pos + SLICE, end)]
            return
        assert self.source is not None
        with self.source.open("rb") as fh:
            fh.seek(start)
            pos = start
            while pos < end:
                block = fh.read(min(SLICE, end - pos))
                if not block:
                    return
                pos += len(block)
                yield block

    def sibling(self, blobs: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"rfilename": self.path}
        if blobs:
            entry["size"] = self.size
            entry["blobId"] = self.blob_id
            if self.lfs:
                entry["lfs"] = {"size": self.size, "sha256": self.sha256,
                                "pointerSize": len(lfs_pointer(self.sha256, self.size))}
        return entry


@dataclass
class HubRepo:
    """A model repo: files by path, and what the model info and search report about it."""

    repo_id: str
    files: dict[str, HubFile]
    gated: bool = False
    tags: tuple[str, ...] = ("onnx", "text-generation", "onnxruntime-genai")
    downloads: int = 0
    likes: int = 0
    commit: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha1(self.repo_id.encode(), usedforsecurity=False)
        for path in sorted(self.files):
            digest.update(f"{path}\0{self.files[path].blob_id}\0".encode())
        self.commit = digest.hexdigest()

    @classmethod
    def build(cls, repo_id: str, folders: Mapping[str, Path] | None = None,
              extra: Mapping[str, bytes] | None = None, **kwargs: Any) -> HubRepo:
        """A repo from folders on disk (repo sub-folder -> local folder) plus inline files."""
        files: dict[str, HubFile] = {}
        for subfolder, folder in (folders or {}).items():
            for item in sorted(folder.rglob("*")):
                if item.is_file():
                    rel = item.relative_to(folder).as_posix()
                    path = f"{subfolder.strip('/')}/{rel}" if subfolder.strip("/") else rel
                    files[path] = HubFile.of(path, source=item)
        for path, data in (extra or {}).items():
            files[path] = HubFile.of(path, data=data)
        return cls(repo_id, files, **kwargs)

    def info(self, *, blobs: bool, expand: Collection[str] = ()) -> dict[str, Any]:
        org = self.repo_id.split("/")[0]
        full: dict[str, Any] = {
            "_id": self.commit[:24], "id": self.repo_id, "modelId": self.repo_id, "author": org,
            "sha": self.commit, "lastModified": _TIMESTAMP, "createdAt": _TIMESTAMP,
            "private": False, "gated": "manual" if self.gated else False, "disabled": False,
            "downloads": self.downloads, "likes": self.likes, "tags": list(self.tags),
            "pipeline_tag": "text-generation", "library_name": "onnxruntime-genai",
            "siblings": [f.sibling(blobs) for _, f in sorted(self.files.items())],
            "usedStorage": sum(f.size for f in self.files.values()),
        }
        if expand:
            return {k: v for k, v in full.items() if k in {"_id", "id", *expand}}
        return full


def default_repos() -> list[HubRepo]:
    """The committed tiny models in the layout of the real repos, each with a root README."""
    return [
        HubRepo.build(LLAMA_REPO, {LLAMA_SUBFOLDER: FIXTURE_MODELS / "tiny-llama"},
                      {"README.md": b"# tiny llama (test)\n"}, downloads=120, likes=3),
        HubRepo.build(GPTOSS_REPO, {GPTOSS_SUBFOLDER: FIXTURE_MODELS / "tiny-gptoss"},
                      {"README.md": b"# tiny gpt-oss (test)\n"}, downloads=80, likes=5),
    ]


@dataclass
class ServedRequest:
    """One request the server answered; `bytes_sent` grows while a body streams."""

    method: str
    target: str
    file: str | None
    range_header: str | None
    start: int
    status: int
    bytes_sent: int = 0
    authorized: bool = False


class _Cut(Exception):
    """The test asked to drop the connection here."""


class HubServer:
    """A hub on 127.0.0.1 (port 0 by default) in a background thread; a context manager."""

    def __init__(self, repos: Iterable[HubRepo] | None = None, *,
                 tokens: Mapping[str, Collection[str] | None] | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        """`tokens`: valid tokens -> the gated repos each may read (None: every repo)."""
        self.repos = {r.repo_id: r for r in (default_repos() if repos is None else repos)}
        self.tokens = dict(tokens or {})
        self.throttle_bps: int | None = None
        self.cut_after: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.connections = 0
        self.bytes_served: Counter[str] = Counter()
        self.requests: list[ServedRequest] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def requests_for(self, path: str, method: str = "GET") -> list[ServedRequest]:
        """The requests for a repo file, oldest first."""
        with self.lock:
            return [r for r in self.requests if r.file == path and r.method == method]

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 hub: HubServer) -> None:
        self.hub = hub
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.hub.lock:
            self.hub.connections += 1
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read the counters instead

    @property
    def hub(self) -> HubServer:
        return self.server.hub

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    # -- routing ----------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        segments = [unquote(s) for s in parts.path.strip("/").split("/")]
        token = self._token()
        if token is not None and token not in self.hub.tokens:
            self._error(401, None, "Invalid credentials in Authorization header", method)
            return
        if segments[:2] == ["api", "models"] and len(segments) == 2:
            self._search(query, method)
        elif segments[:2] == ["api", "models"] and len(segments) >= 4:
            repo_id = "/".join(segments[2:4])
            rest = segments[4:]
            if rest and (rest[0] != "revision" or len(rest) < 2):
                self._error(404, None, "Not found", method)
                return
            revision = "/".join(rest[1:]) if rest else "main"
            self._model_info(repo_id, revision, query, token, method)
        elif len(segments) >= 5 and segments[2] == "resolve":
            repo_id = "/".join(segments[:2])
            self._resolve(repo_id, segments[3], "/".join(segments[4:]), token, method)
        else:
            self._error(404, None, "Not found", method)

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def _repo(self, repo_id: str, revision: str, token: str | None,
              method: str) -> HubRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            # The hub answers 401 to anonymous callers so private repos are not revealed.
            self._error(404 if token else 401, "RepoNotFound", "Repository not found", method)
            return None
        if revision not in ("main", repo.commit):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", method,
                        commit=None)
            return None
        return repo

    def _model_info(self, repo_id: str, revision: str, query: dict[str, list[str]],
                    token: str | None, method: str) -> None:
        repo = self._repo(repo_id, revision, token, method)
        if repo is None:
            return
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        self._json(repo.info(blobs=blobs), method)

    def _search(self, query: dict[str, list[str]], method: str) -> None:
        text = query.get("search", [""])[0].lower()
        wanted = {t.lower() for t in query.get("filter", [])}
        author = query.get("author", [""])[0]
        expand = query.get("expand", []) + query.get("expand[]", [])
        sort = query.get("sort", ["downloads"])[0]
        found = [r for r in self.hub.repos.values()
                 if text in r.repo_id.lower()
                 and wanted <= {t.lower() for t in r.tags}
                 and (not author or r.repo_id.startswith(author + "/"))]
        found.sort(key=lambda r: r.likes if sort == "likes" else r.downloads, reverse=True)
        limit = int(query.get("limit", ["1000"])[0])
        items = []
        for r in found[:limit]:
            item = r.info(blobs=False, expand=expand)
            if not expand and query.get("full", ["false"])[0].lower() != "true":
                item.pop("siblings", None)
            items.append(item)
        self._json(items, method)

    # -- files ------------------------------------------------------------------------------

    def _resolve(self, repo_id: str, revision: str, path: str, token: str | None,
                 method: str) -> None:
        repo = self._repo(repo_id, revision, token, method)
        if repo is None:
            return
        if repo.gated:
            allowed = self.hub.tokens.get(token) if token is not None else ()
            if token is None:
                self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted. You "
                            "must have access to it and be authenticated to access it. Please "
                            "log in.", method, commit=repo.commit)
                return
            if allowed is not None and repo_id not in allowed:
                self._error(403, "GatedRepo", f"Access to model {repo_id} is restricted and you "
                            "are not in the authorized list.", method, commit=repo.commit)
                return
        hub_file = repo.files.get(path)
        if hub_file is None:
            self._error(404, "EntryNotFound", "Entry not found", method, commit=repo.commit)
            return
        self._send_file(repo, hub_file, method, authorized=token is not None)

    def _send_file(self, repo: HubRepo, hub_file: HubFile, method: str, *,
                   authorized: bool) -> None:
        size = hub_file.size
        range_header = self.headers.get("Range")
        start, end = 0, size
        status = 200
        if range_header:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                self._error(416, None, "Requested range not satisfiable", method,
                            commit=repo.commit, extra={"Content-Range": f"bytes */{size}"})
                return
            start, end = parsed
            status = 206
        record = ServedRequest(method, self.path, hub_file.path, range_header, start, status,
                               authorized=authorized)
        with self.hub.lock:
            self.hub.requests.append(record)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{hub_file.etag}"')
        self.send_header("X-Repo-Commit", repo.commit)
        if hub_file.lfs:
            self.send_header("X-Linked-Size", str(size))
            self.send_header("X-Linked-Etag", f'"{hub_file.sha256}"')
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if method == "HEAD":
            return
        try:
            self._stream(hub_file, start, end, record)
        except (_Cut, OSError):
            # A dropped connection (ours on purpose, or the client gone): the client sees a
            # body shorter than Content-Length.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def _stream(self, hub_file: HubFile, start: int, end: int, record: ServedRequest) -> None:
        hub = self.hub
        with hub.lock:
            cut = hub.cut_after.pop(hub_file.path, None)
            corrupt = hub_file.path in hub.corrupt
        began = time.monotonic()
        sent = 0
        for block in hub_file.chunks(start, end):
            if cut is not None and start + sent + len(block) > cut:
                block = block[:max(0, cut - start - sent)]
                if block:
                    self.wfile.write(block)
                    self._count(hub_file.path, record, len(block))
                raise _Cut
            if corrupt:
                block = block.translate(_FLIP)
            throttle = hub.throttle_bps
            if throttle:
                # Pace the body: wait until `sent` bytes are due at this rate.
                due = began + sent / throttle
                if hub.stopping.wait(max(0.0, due - time.monotonic())):
                    raise _Cut
            self.wfile.write(block)
            sent += len(block)
            self._count(hub_file.path, record, len(block))

    def _count(self, path: str, record: ServedRequest, n: int) -> None:
        with self.hub.lock:
            self.hub.bytes_served[path] += n
            record.bytes_sent += n

    # -- responses --------------------------------------------------------------------------

    def _json(self, payload: Any, method: str) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str, method: str, *,
               commit: str | None = None, extra: Mapping[str, str] | None = None) -> None:
        with self.hub.lock:
            self.hub.requests.append(ServedRequest(method, self.path, None,
                                                   self.headers.get("Range"), 0, status))
        body = json.dumps({"error": message}).encode()
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """`bytes=a-b`, `bytes=a-` or `bytes=-n` as [start, end); None if unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size
        else:
            start = int(first)
            end = min(size, int(last) + 1) if last else size
    except ValueError:
        return None
    if start >= size or start >= end:
        return None
    return start, end


def _parse_repo_arg(value: str) -> tuple[str, str, Path]:
    """`ORG/NAME[:SUBFOLDER]=DIR` -> (repo, subfolder, folder)."""
    target, _, folder = value.partition("=")
    repo, _, subfolder = target.partition(":")
    if not folder or repo.count("/") != 1:
        raise argparse.ArgumentTypeError("use ORG/NAME[:SUBFOLDER]=DIR")
    return repo, subfolder, Path(folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A loopback Hugging Face hub for Hearth.")
    parser.add_argument("--repo", action="append", type=_parse_repo_arg, default=[],
                        metavar="ORG/NAME[:SUBFOLDER]=DIR",
                        help="serve DIR as SUBFOLDER of ORG/NAME (repeatable); default: the "
                             "committed tiny models")
    parser.add_argument("--gated", action="append", default=[], metavar="ORG/NAME")
    parser.add_argument("--token", action="append", default=[],
                        help="a token the server accepts (with access to every gated repo)")
    parser.add_argument("--throttle", type=int, default=None, metavar="BYTES_PER_S")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if args.repo:
        folders: dict[str, dict[str, Path]] = {}
        for repo_id, subfolder, folder in args.repo:
            folders.setdefault(repo_id, {})[subfolder] = folder
        repos = [HubRepo.build(r, f, {"README.md": f"# {r}\n".encode()}) for r, f in
                 folders.items()]
    else:
        repos = default_repos()
    for repo in repos:
        repo.gated = repo.repo_id in args.gated
    hub = HubServer(repos, tokens=dict.fromkeys(args.token), host=args.host, port=args.port)
    hub.throttle_bps = args.throttle
    with hub:
        print(f"Serving at {hub.url}  (export HF_ENDPOINT={hub.url})")
        for repo in repos:
            subfolders = sorted({p.rsplit("/", 1)[0] for p in repo.files if "/" in p})
            print(f"  {repo.repo_id}{' (gated)' if repo.gated else ''}: "
                  f"{', '.join(subfolders) or '(root)'}  {hub.url}/{quote(repo.repo_id)}")
        done = threading.Event()
        # SIGTERM too: a shell starting the server in the background makes it ignore SIGINT.
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("stopped")


if __name__ == "__main__":
    main()
