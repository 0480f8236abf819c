"""`hearth docs add|search|list|remove` and `hearth ask`: the document index from the command line.

The commands work on the same index file as the window (`<data>/documents.sqlite3`), so a folder
added here is searchable there and the other way round. Search is hybrid (words and meaning)
when an embedding model is available: `--embedder FOLDER`, else the catalog embedder the models
pane downloaded; without one it is by words only, and stderr says so once.

`hearth ask` indexes the files it is given (unchanged files cost nothing the second time), builds
the model's context with `answer.build_context` as the chat window does (whole documents when they
fit, else retrieved passages, counted with the chat model's own tokenizer), streams the answer
and lists the sources it numbered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from app.cli_common import cancel_on_interrupt
from app.core.chat import CancelToken
from app.core.errors import AppError, DocumentError, ModelLoadError
from app.core.paths import AppPaths

if TYPE_CHECKING:
    from app.core.chat import GenerationOptions, GenerationResult
    from app.core.documents.answer import DocumentContext, Source
    from app.core.documents.embedder import Embedder
    from app.core.documents.index import Collection, DocumentIndex, DocumentRecord, Hit
    from app.core.engine import ChatEngine

AddStatus = Literal["indexed", "unchanged", "failed"]
SearchMode = Literal["hybrid", "lexical"]

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_NONE_ADDED = 2
EXIT_INTERRUPTED = 130
DEFAULT_K = 8
ASK_PASSAGES = 12
"""Passages retrieved for `ask` before they are packed to the budget (as the chat window)."""
SNIPPET_CHARS = 300
_HASH_BLOCK = 1 << 20


# --- Parsers -------------------------------------------------------------------------------------

def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `docs` and `ask` to the `hearth` command's subcommands."""
    embedder_help = ("the embedding model folder to search by meaning with (default: the one "
                     "downloaded in the Models pane; without one, search is by words only)")
    docs = sub.add_parser("docs", help="add, search, list or remove documents in the index")
    docs_sub = docs.add_subparsers(dest="action", required=True)

    add = docs_sub.add_parser("add", help="index files and folders (folders are read "
                                          "recursively; unchanged files are skipped)")
    add.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    add.add_argument("--collection", help="also put them in this collection (created if new)")
    add.add_argument("--embedder", metavar="DIR", help=embedder_help)
    add.add_argument("--json", action="store_true")

    find = docs_sub.add_parser("search", help="find passages by words and meaning")
    find.add_argument("query")
    find.add_argument("--collection", help="search only this collection")
    find.add_argument("--k", type=int, default=DEFAULT_K,
                      help=f"how many passages (default {DEFAULT_K})")
    find.add_argument("--embedder", metavar="DIR", help=embedder_help)
    find.add_argument("--json", action="store_true")

    ls = docs_sub.add_parser("list", help="the indexed documents, and the files that failed")
    ls.add_argument("--collection", help="only the documents in this collection")
    ls.add_argument("--json", action="store_true")

    rm = docs_sub.add_parser("remove", help="remove documents from the index (the files stay)")
    rm.add_argument("targets", nargs="+", metavar="ID|PATH",
                    help="a document id (see `hearth docs list`) or the file's path")
    rm.add_argument("--json", action="store_true")

    ask = sub.add_parser("ask", help="answer a question from documents with a local model")
    ask.add_argument("question", nargs="?", help="the question (may also come last, after "
                                                 "the --docs files)")
    ask.add_argument("--docs", nargs="+", action="extend", default=[], metavar="PATH",
                     help="files or folders to answer from (indexed first)")
    ask.add_argument("--collection", help="put the files in this collection, and answer from "
                                          "all of its documents")
    ask.add_argument("--model", metavar="DIR",
                     help="model folder (default: the default model set in the app)")
    ask.add_argument("--embedder", metavar="DIR", help=embedder_help)
    ask.add_argument("--provider", choices=("auto", "cpu", "cuda", "dml"), default="auto")
    ask.add_argument("--max-tokens", type=int, default=512, help="longest answer in tokens")
    ask.add_argument("--temperature", type=float, default=0.0,
                     help="0 = deterministic (default); higher = more varied")
    ask.add_argument("--show-reasoning", action="store_true",
                     help="stream the model's reasoning to stderr")
    ask.add_argument("--json", action="store_true",
                     help="print one JSON object with the answer, its sources and figures")


def run(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    """Run `hearth docs ...` or `hearth ask`; returns the exit code."""
    if args.command == "ask":
        return _ask(args, paths, out, err)
    actions: dict[str, Callable[[argparse.Namespace, AppPaths, TextIO, TextIO], int]] = {
        "add": _add, "search": _search, "list": _list, "remove": _remove}
    return actions[args.action](args, paths, out, err)


# --- Shared pieces --------------------------------------------------------------------------------

def _write_json(out: TextIO, value: object) -> None:
    out.write(json.dumps(value, ensure_ascii=False) + "\n")


@contextmanager
def _open_index(paths: AppPaths, err: TextIO) -> Iterator[DocumentIndex]:
    """The app's document index, with its notices (a damaged file moved aside) on stderr."""
    from app.core.documents.index import DocumentIndex

    index = DocumentIndex.for_paths(paths)
    try:
        for notice in index.notices:
            err.write(f"hearth: {notice}\n")
        index.notices.clear()
        yield index
    finally:
        for notice in index.notices:  # found damaged while in use
            err.write(f"hearth: {notice}\n")
        index.close()


def _load_embedder(args: argparse.Namespace, paths: AppPaths, err: TextIO) -> Embedder | None:
    """The embedder for this command: --embedder (an error if it cannot be loaded), else the
    downloaded catalog embedder (a warning if it cannot), else None, said once on stderr."""
    from app.core.documents.context import load_embedder
    from app.core.documents.embedders import default_embedder_folder

    explicit = getattr(args, "embedder", None)
    folder = Path(explicit).expanduser() if explicit else default_embedder_folder(paths)
    if folder is None:
        err.write("hearth: no embedding model is installed, so documents are searched by their "
                  "words only (download one in the Models pane, or pass --embedder FOLDER)\n")
        return None
    embedder = load_embedder(folder.resolve())
    if embedder is not None:
        return embedder
    why = _why_unusable(folder)
    if explicit:
        raise ModelLoadError(why)
    err.write(f"hearth: {why} Documents are searched by their words only.\n")
    return None


def _why_unusable(folder: Path) -> str:
    """The reason an embedder folder could not be loaded (`load_embedder` keeps it)."""
    from app.core.documents.context import embedder_problem

    return embedder_problem(folder.resolve()) or \
        f"The embedding model in {folder} cannot be loaded."


def _collection(index: DocumentIndex, name: str) -> Collection:
    """An existing collection by name (any case); AppError naming the ones there are if none."""
    wanted = " ".join(name.split()).casefold()
    collections = index.collections()
    found = next((c for c in collections if c.name.casefold() == wanted), None)
    if found is None:
        names = ", ".join(c.name for c in collections)
        raise AppError(f"There is no collection named {name!r}"
                       + (f" (there are: {names})." if names else " (there are none yet)."))
    return found


def _search_mode(index: DocumentIndex, embedder: Embedder | None,
                 documents: Sequence[DocumentRecord], err: TextIO) -> SearchMode:
    """Hybrid when the embedder made vectors for the documents searched; a note on stderr when
    some were indexed without it (adding them again embeds them)."""
    if embedder is None:
        return "lexical"
    indexed = [d for d in documents if d.status == "indexed" and d.chunk_count]
    stale = [d for d in indexed if d.embedder_id != embedder.id]
    if stale:
        err.write(f"hearth: {len(stale)} of {len(indexed)} documents were indexed without this "
                  "embedding model and are found by their words only; add them again to search "
                  "them by meaning too\n")
    return "hybrid" if len(stale) < len(indexed) else "lexical"


def _page_label(page_start: int | None, page_end: int | None) -> str:
    if page_start is None:
        return ""
    if page_end is None or page_end == page_start:
        return f"p. {page_start}"
    return f"pp. {page_start}-{page_end}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _one_line(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "\u2026"


# --- Adding ---------------------------------------------------------------------------------------

@dataclass
class AddResult:
    """What happened to one file of `docs add` (or of `ask --docs`)."""

    path: Path
    status: AddStatus
    record: DocumentRecord | None = None
    error: str = ""
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        record = self.record
        return {
            "path": str(self.path), "name": self.path.name, "status": self.status,
            "document_id": record.id if record else None,
            "pages": record.page_count if record and self.status != "failed" else None,
            "chunks": record.chunk_count if record and self.status != "failed" else None,
            "error": self.error or None, "warnings": list(self.warnings)}

    def line(self) -> str:
        """The result as one line for people (warnings on their own lines after it)."""
        record = self.record
        if self.status == "failed" or record is None:
            return f"failed     {self.error}"
        size = [_plural(record.page_count, "page")] if record.page_count else []
        size.append(_plural(record.chunk_count, "chunk"))
        text = f"{self.status:<10} {self.path.name}  {', '.join(size)}  (id {record.id})"
        return "\n".join([text, *(f"           warning: {w}" for w in self.warnings)])


class _Progress:
    """Progress of a batch on a terminal: one line, rewritten at most ten times a second."""

    def __init__(self, err: TextIO, total: int) -> None:
        self.err = err
        self.total = total
        self.n = 0
        self.name = ""
        self._last = 0.0

    def file(self, n: int, path: Path) -> None:
        self.n, self.name = n, path.name
        self._show("reading", force=True)

    def pages(self, done: int, total: int | None) -> None:
        if total:
            self._show(f"page {done} of {total}")

    def chunks(self, done: int, total: int) -> None:
        self._show(f"embedding {done} of {total} passages")

    def clear(self) -> None:
        self.err.write("\r\x1b[K")
        self.err.flush()

    def _show(self, what: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self.err.write(f"\r\x1b[K[{self.n}/{self.total}] {self.name}: {what}")
        self.err.flush()


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while block := stream.read(_HASH_BLOCK):
                digest.update(block)
    except OSError:
        return None  # extraction reports why, in words
    return digest.hexdigest()


def _add_file(index: DocumentIndex, path: Path, embedder: Embedder | None, *,
             collection_id: int | None = None, cancel: CancelToken | None = None,
             progress: _Progress | None = None) -> AddResult:
    """Index one file. An unchanged file (same bytes, same embedder) is not read again; one
    that cannot be read is recorded as failed with the reason. Raises ExtractionCancelled
    (nothing written) and StorageError."""
    from app.core.documents.extract import SUPPORTED_SUFFIXES, extract

    existing = index.find(path)
    if (existing is not None and existing.status == "indexed"
            and (embedder is None or existing.embedder_id == embedder.id)
            and existing.sha256 == _file_sha256(path)):
        # Hashing is far cheaper than parsing: a re-added folder of big PDFs is checked in
        # seconds. (`index.add` would find it unchanged too, but only after extraction.)
        if collection_id is not None:
            index.add_to_collection(collection_id, existing.id)
        return AddResult(path, "unchanged", existing)
    try:
        doc = extract(path, cancel=cancel, progress=progress.pages if progress else None)
    except DocumentError as exc:
        record = None
        if path.is_file():  # kept so `docs list` and the window show why; a typo is not kept
            record = index.record_failure(path, exc, collection_id=collection_id,
                                          kind=SUPPORTED_SUFFIXES.get(path.suffix.lower(), ""))
        return AddResult(path, "failed", record, exc.user_message)
    record = index.add(doc, embedder=embedder, collection_id=collection_id, cancel=cancel,
                       progress=progress.chunks if progress else None)
    return AddResult(path, "indexed", record, warnings=doc.warnings)


@dataclass
class _Batch:
    """The results of adding a list of files."""

    results: list[AddResult] = field(default_factory=list)
    cancelled: bool = False

    def count(self, status: AddStatus) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def exit_code(self) -> int:
        ok = len(self.results) - self.count("failed")
        if self.cancelled:
            return EXIT_INTERRUPTED
        if ok == len(self.results) and self.results:
            return EXIT_OK
        return EXIT_SOME_FAILED if ok else EXIT_NONE_ADDED


def _add_files(index: DocumentIndex, targets: Sequence[str], embedder: Embedder | None,
               collection_id: int | None, err: TextIO,
               on_result: Callable[[AddResult], None]) -> _Batch:
    """Add the files (folders expanded) one by one, calling `on_result` after each; Ctrl+C
    stops between files (and within one, writing nothing of it)."""
    from app.core.documents.extract import ExtractionCancelled, iter_files

    # Absolute paths: the index is shared with the window and other folders' commands.
    files = list(iter_files(Path(os.path.abspath(Path(t).expanduser())) for t in targets))
    progress = _Progress(err, len(files)) if err.isatty() else None
    batch = _Batch()
    with cancel_on_interrupt() as cancel:
        for n, path in enumerate(files, start=1):
            if progress is not None:
                progress.file(n, path)
            try:
                result = _add_file(index, path, embedder, collection_id=collection_id,
                                  cancel=cancel, progress=progress)
            except ExtractionCancelled:
                batch.cancelled = True
                break
            finally:
                if progress is not None:
                    progress.clear()
            batch.results.append(result)
            on_result(result)
    return batch


def _add(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    batch = _Batch()
    try:
        embedder = _load_embedder(args, paths, err)
        with _open_index(paths, err) as index:
            collection = index.create_collection(args.collection) if args.collection else None

            def show(result: AddResult) -> None:
                if not args.json:
                    out.write(result.line() + "\n")
                    out.flush()

            batch = _add_files(index, args.paths, embedder,
                               collection.id if collection else None, err, show)
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return EXIT_SOME_FAILED if any(r.status != "failed" for r in batch.results) \
            else EXIT_NONE_ADDED
    if batch.cancelled:
        err.write(f"hearth: stopped; {len(batch.results)} files were done before, the file "
                  "being read was not added\n")
    if not batch.results and not batch.cancelled:
        err.write("hearth: nothing to add: those folders hold no files Hearth can read\n")
    summary = {s: batch.count(s) for s in ("indexed", "unchanged", "failed")}
    if args.json:
        _write_json(out, {
            "collection": collection.name if collection else None,
            "search": "hybrid" if embedder is not None else "lexical",
            "embedder": embedder.id if embedder is not None else None,
            "files": [r.as_dict() for r in batch.results], **summary,
            "cancelled": batch.cancelled})
    elif batch.results:
        where = f" (collection {collection.name})" if collection else ""
        out.write(", ".join(f"{n} {s}" for s, n in summary.items() if n) + where + "\n")
    return batch.exit_code


# --- Searching, listing, removing -----------------------------------------------------------------

def _hit_dict(rank: int, hit: Hit) -> dict[str, Any]:
    chunk, document = hit.chunk, hit.document
    return {"rank": rank, "document_id": document.id, "file": document.name,
            "path": document.path, "page_start": chunk.page_start, "page_end": chunk.page_end,
            "heading": chunk.heading, "score": round(hit.score, 6),
            "lexical_rank": hit.lexical_rank, "dense_rank": hit.dense_rank, "text": chunk.text}


def _search(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    if not args.query.strip():
        err.write("hearth: nothing to search for: the query is empty\n")
        return 2
    if args.k < 1:
        err.write("hearth: --k must be at least 1\n")
        return 2
    try:
        embedder = _load_embedder(args, paths, err)
        with _open_index(paths, err) as index:
            collection = _collection(index, args.collection) if args.collection else None
            documents = index.documents(collection_id=collection.id if collection else None)
            ids = [d.id for d in documents] if collection else None
            mode = _search_mode(index, embedder, documents, err)
            hits = index.search(args.query, k=args.k, document_ids=ids,
                                embedder=embedder if mode == "hybrid" else None)
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return 1
    if args.json:
        _write_json(out, {"query": args.query, "search": mode,
                          "embedder": embedder.id if embedder is not None else None,
                          "collection": collection.name if collection else None,
                          "hits": [_hit_dict(n, h) for n, h in enumerate(hits, start=1)]})
        return 0
    if not documents:
        out.write("no documents yet: `hearth docs add FILE_OR_FOLDER`\n")
    elif not hits:
        out.write(f"nothing found for {args.query!r}\n")
    for n, hit in enumerate(hits, start=1):
        where = ", ".join(p for p in (hit.document.name, _page_label(hit.chunk.page_start,
                                                                    hit.chunk.page_end)) if p)
        heading = f"  \u00b7 {hit.chunk.heading}" if hit.chunk.heading else ""
        out.write(f"[{n}] {where}{heading}  ({hit.score:.4f})\n"
                  f"    {_one_line(hit.chunk.text)}\n")
    return 0


def _list(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    from app.core.export import iso

    try:
        with _open_index(paths, err) as index:
            collection = _collection(index, args.collection) if args.collection else None
            documents = index.documents(collection_id=collection.id if collection else None)
            collections = index.collections()
            member: dict[int, list[str]] = {}
            for c in collections:
                for d in index.documents(collection_id=c.id):
                    member.setdefault(d.id, []).append(c.name)
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return 1
    if args.json:
        _write_json(out, {
            "collection": collection.name if collection else None,
            "documents": [{
                "id": d.id, "name": d.name, "path": d.path, "kind": d.kind, "title": d.title,
                "status": d.status, "error": d.error or None, "pages": d.page_count,
                "chunks": d.chunk_count, "size": d.size, "embedder": d.embedder_id or None,
                "warnings": list(d.warnings), "collections": member.get(d.id, []),
                "added_at": iso(d.added_at), "updated_at": iso(d.updated_at)}
                for d in documents],
            "collections": [{"id": c.id, "name": c.name, "documents": c.document_count}
                            for c in collections]})
        return 0
    if not documents:
        out.write("no documents" + (f" in {collection.name}" if collection else " yet")
                  + ": `hearth docs add FILE_OR_FOLDER`\n")
    width = max((len(str(d.id)) for d in documents), default=1)
    names = min(40, max((len(d.name) for d in documents), default=0))
    for d in documents:
        if d.status == "failed":
            out.write(f"{d.id:>{width}}  failed   {d.name}: {d.error}\n")
            continue
        pages = f"{d.page_count} p." if d.page_count else ""
        how = "" if d.embedder_id else "  (words only)"
        out.write(f"{d.id:>{width}}  indexed  {d.name:<{names}}  {pages:>7}  "
                  f"{_plural(d.chunk_count, 'chunk'):>10}  {d.path}{how}\n")
    if collections and collection is None:
        out.write("\ncollections: " + ", ".join(f"{c.name} ({c.document_count})"
                                                for c in collections) + "\n")
    return 0


def _remove(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    removed: list[DocumentRecord] = []
    missing: list[str] = []
    try:
        with _open_index(paths, err) as index:
            for target in args.targets:
                record = index.document(int(target)) if target.isdigit() else None
                if record is None:
                    record = index.find(Path(target).expanduser())  # made absolute there
                if record is None:
                    missing.append(target)
                    continue
                if index.remove(record.id):
                    removed.append(record)
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return 1
    for target in missing:
        err.write(f"hearth: no document {target!r} in the index (see `hearth docs list`)\n")
    if args.json:
        _write_json(out, {"removed": [{"id": r.id, "name": r.name, "path": r.path}
                                      for r in removed], "not_found": missing})
    else:
        for r in removed:
            out.write(f"removed {r.id}: {r.name} (the file itself is untouched)\n")
    return 1 if missing else 0


# --- Asking ---------------------------------------------------------------------------------------

def _source_dict(source: Source) -> dict[str, Any]:
    return {"n": source.n, "document_id": source.document_id, "file": source.name,
            "path": source.path, "page_start": source.page_start, "page_end": source.page_end,
            "heading": source.heading, "label": source.label}


def _default_model(paths: AppPaths) -> Path:
    """The default model set in the app; AppError saying how to choose one when there is none."""
    from app.core.library import ModelLibrary
    from app.core.settings import SettingsStore

    settings, _ = SettingsStore(paths).load()
    default = ModelLibrary(paths).resolve_default(settings.model.default_model)
    if default.problem:
        raise ModelLoadError(default.problem)
    if default.path is None:
        raise ModelLoadError("No model to answer with: pass --model FOLDER, or choose a default "
                             "model in the app (`hearth models list` shows the installed ones).")
    return default.path


def _build_context(index: DocumentIndex, documents: Sequence[DocumentRecord], question: str,
                   embedder: Embedder | None, count_tokens: Callable[[str], int],
                   budget: int) -> DocumentContext:
    """What the chat window does for a conversation's documents, for these documents."""
    from app.core.documents.context import context_for_documents

    context = context_for_documents(index, documents, question, count_tokens, budget, embedder,
                                    ASK_PASSAGES)
    if context is None:  # only without documents, which the caller rules out
        raise DocumentError("No document to answer from.")
    return context


def _ask(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    from app.core.chat import ChatMessage, GenerationOptions
    from app.core.documents.context import document_budget
    from app.core.engine import ChatEngine, load_model

    docs: list[str] = list(args.docs)
    question: str | None = args.question
    if question is None and len(docs) > 1:
        question = docs.pop()  # `--docs a.pdf b.pdf "question"`: --docs took the question too
    if not question or not question.strip():
        err.write("hearth: ask needs a question: hearth ask --docs FILE... \"QUESTION\"\n")
        return 2
    if not docs and not args.collection:
        err.write("hearth: ask needs documents: --docs FILE_OR_FOLDER... or --collection NAME\n")
        return 2
    if args.max_tokens < 1:
        err.write("hearth: --max-tokens must be at least 1\n")
        return 2
    options = GenerationOptions(max_new_tokens=args.max_tokens,
                                temperature=max(0.0, args.temperature))
    messages = [ChatMessage("user", question)]

    def report(result: AddResult) -> None:
        if result.status == "failed":
            err.write(f"hearth: not used: {result.error}\n")

    try:
        model_folder = Path(args.model).expanduser() if args.model else _default_model(paths)
        embedder = _load_embedder(args, paths, err)
        with _open_index(paths, err) as index:
            # Indexing comes before the model load, so a document problem shows at once.
            collection = index.create_collection(args.collection) if args.collection else None
            batch = _add_files(index, docs, embedder, collection.id if collection else None,
                               err, report)
            if batch.cancelled:
                err.write("hearth: stopped before the question was asked\n")
                return EXIT_INTERRUPTED
            chosen = {r.record.id: r.record for r in batch.results
                      if r.record is not None and r.status != "failed"}
            if collection is not None:
                chosen.update((d.id, d) for d in index.documents(collection_id=collection.id)
                              if d.status == "indexed")
            documents = sorted(chosen.values(), key=lambda d: (d.name.casefold(), d.id))
            if not documents:
                raise DocumentError("None of the documents could be read, so there is nothing "
                                    "to answer from.")
            mode = _search_mode(index, embedder, documents, err)
            loaded = load_model(model_folder, args.provider)
            for reason in loaded.fallbacks:
                err.write(f"hearth: {reason}\n")
            engine = ChatEngine(loaded)
            try:
                encode = engine.renderer.encode
                budget = document_budget(engine.context_tokens,
                                         engine.count_tokens(messages, options),
                                         options.max_new_tokens)
                context = _build_context(index, documents, question,
                                         embedder if mode == "hybrid" else None,
                                         lambda text: len(encode(text)), budget)
            except BaseException:
                engine.close()
                raise
        try:
            result = _stream_answer(args, engine, context, question, options, out, err)
        finally:
            engine.close()
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return 1
    return _ask_report(args, out, err, result, context, mode, budget, loaded.name)


def _stream_answer(args: argparse.Namespace, engine: ChatEngine, context: DocumentContext,
                   question: str, options: GenerationOptions, out: TextIO,
                   err: TextIO) -> GenerationResult:
    """Stream the answer to `question` with the document context before it: the answer to
    stdout (unless --json), the reasoning to stderr when asked. Ctrl+C stops it, keeping what
    was written."""
    from app.core.chat import ChatMessage, GenerationResult, with_context

    if context.mode == "nothing_found":
        err.write("hearth: no passage of the documents matched the question; the model is told "
                  "so\n")
    prompt = [ChatMessage("user", with_context(context.text, question))]
    result: GenerationResult | None = None
    with cancel_on_interrupt() as cancel:
        for event in engine.stream(prompt, options, cancel):
            if isinstance(event, GenerationResult):
                result = event
            elif event.reasoning:
                if args.show_reasoning:
                    err.write(event.text)
                    err.flush()
            elif not args.json:
                out.write(event.text)
                out.flush()
    assert result is not None
    return result


def _ask_report(args: argparse.Namespace, out: TextIO, err: TextIO, result: GenerationResult,
                context: DocumentContext, mode: SearchMode, budget: int, model: str) -> int:
    """The answer's sources (text) or the whole result (JSON) after the answer streamed."""
    from app.core.documents.answer import cited

    if args.show_reasoning and result.reasoning:
        err.write("\n")
    if args.json:
        _write_json(out, {
            "answer": result.text, "reasoning": result.reasoning,
            "sources": [_source_dict(s) for s in context.sources],
            "cited": [s.n for s in cited(result.text, context.sources)],
            "mode": context.mode, "search": mode, "model": model,
            "tokens": {"context": context.tokens, "budget": budget,
                       "prompt": result.prompt_tokens, "generated": result.generated_tokens},
            "finish_reason": str(result.finish_reason), "error": result.error or None})
    else:
        out.write("\n")
        if context.sources:
            out.write("\nSources:\n")
            for source in context.sources:
                out.write(f"[{source.n}] {source.label}\n")
    if result.error:
        err.write(f"hearth: {result.error}\n")
        return 1
    return 0


