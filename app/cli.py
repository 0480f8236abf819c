"""The `hearth` command: no arguments opens the window; subcommands run headless on app.core."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app import __version__, cli_docs
from app.cli_common import cancel_on_interrupt
from app.core.chat import CancelToken, ChatMessage, GenerationOptions, GenerationResult, TextDelta
from app.core.errors import AppError, StorageError
from app.core.export import export_all, export_conversation, iso
from app.core.paths import AppPaths
from app.core.selftest import Check, run_selftest
from app.core.store import ConversationSettings, Store

if TYPE_CHECKING:
    from app.core.catalog import CatalogEntry, Variant
    from app.core.downloads import DownloadProgress
    from app.core.library import DefaultModel, InstalledModel, ModelLibrary

PROVIDER_CHOICES = ("auto", "cpu", "cuda", "dml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth", description="Chat with open-weight language models, offline.")
    parser.add_argument("--version", action="version", version=f"Hearth {__version__}")
    parser.add_argument("--data-dir", help="keep all data, settings and logs in this folder "
                                           "(also $HEARTH_DATA_DIR)")
    sub = parser.add_subparsers(dest="command")

    gen = sub.add_parser("generate", help="generate a reply from a model folder")
    gen.add_argument("--model", required=True, help="model folder (holds genai_config.json)")
    gen.add_argument("--prompt", required=True, help="the user's message")
    gen.add_argument("--system", help="instructions (system prompt)")
    gen.add_argument("--max-tokens", type=int, default=512, help="longest reply in tokens")
    gen.add_argument("--temperature", type=float, default=0.0,
                     help="0 = deterministic (default); higher = more varied")
    gen.add_argument("--provider", choices=PROVIDER_CHOICES, default="auto")
    gen.add_argument("--reasoning", choices=("low", "medium", "high"), default="medium",
                     help="gpt-oss reasoning effort (default medium)")
    gen.add_argument("--show-reasoning", action="store_true",
                     help="stream the model's reasoning to stderr")
    gen.add_argument("--json", action="store_true",
                     help="print one JSON object with the reply and its figures")
    gen.add_argument("--save", action="store_true",
                     help="keep the exchange as a new conversation (saved as the reply streams)")

    st = sub.add_parser("selftest", help="check that this installation works")
    st.add_argument("--model", help="also load this model folder and generate a few tokens")
    st.add_argument("--provider", choices=PROVIDER_CHOICES, default="auto")
    st.add_argument("--json", action="store_true")

    conv = sub.add_parser("conversations", help="list, show, search or export saved conversations")
    conv_sub = conv.add_subparsers(dest="action", required=True)
    ls = conv_sub.add_parser("list", help="the conversations, pinned and newest first")
    ls.add_argument("--deleted", action="store_true", help="list the trash instead")
    ls.add_argument("--json", action="store_true")
    show = conv_sub.add_parser("show", help="print a conversation's current branch")
    show.add_argument("id", type=int)
    show.add_argument("--reasoning", action="store_true", help="include the model's reasoning")
    show.add_argument("--json", action="store_true",
                      help="print it as JSON (every branch, with figures)")
    find = conv_sub.add_parser("search", help="find conversations by words (any language)")
    find.add_argument("query")
    find.add_argument("--limit", type=int, default=20)
    find.add_argument("--json", action="store_true")
    exp = conv_sub.add_parser("export", help="write one or all conversations as Markdown or JSON")
    which = exp.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?")
    which.add_argument("--all", action="store_true", help="every conversation not in the trash")
    exp.add_argument("--format", choices=("md", "json"), default="md")
    exp.add_argument("--reasoning", action="store_true", help="include the model's reasoning")
    exp.add_argument("-o", "--output", help="write to this file instead of standard output")

    hw = sub.add_parser("hardware", help="what this machine has and which models fit it")
    hw.add_argument("--json", action="store_true")

    models = sub.add_parser("models", help="installed models and the curated catalog")
    models_sub = models.add_subparsers(dest="action", required=True)
    mls = models_sub.add_parser(
        "list", help="the installed models, and the catalog with how each model fits")
    mls.add_argument("--json", action="store_true")
    mim = models_sub.add_parser("import", help="add a model folder (copied into the library)")
    mim.add_argument("path", help="the folder that holds genai_config.json")
    mim.add_argument("--link", action="store_true",
                     help="use the folder where it is instead of copying it")
    mim.add_argument("--json", action="store_true")
    mrm = models_sub.add_parser("remove", help="remove an installed model (deletes its copy)")
    mrm.add_argument("id", help="the model's id (see `hearth models list`)")
    mrm.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    mrm.add_argument("--json", action="store_true")
    mvf = models_sub.add_parser("verify", help="check an installed model's files")
    mvf.add_argument("id", help="the model's id (see `hearth models list`)")
    mvf.add_argument("--json", action="store_true")
    msr = models_sub.add_parser(
        "search", help="search Hugging Face for ONNX models (connects to the hub; $HF_ENDPOINT "
                       "sets another address)")
    msr.add_argument("query")
    msr.add_argument("--limit", type=int, default=20, help="most results to show (default 20)")
    msr.add_argument("--json", action="store_true")
    mdl = models_sub.add_parser(
        "download", help="download a model from Hugging Face into the library (connects to the "
                         "hub; $HF_ENDPOINT sets another address, $HF_TOKEN a token)")
    mdl.add_argument("repo", help="a catalog id (see `hearth models list`) or a Hugging Face "
                                  "repo (owner/name)")
    mdl.add_argument("--subfolder", help="the build's folder in the repo (default: for a "
                                         "catalog model, the build that fits this machine)")
    mdl.add_argument("--revision", default="main", help="branch, tag or commit (default main)")
    mdl.add_argument("--json", action="store_true")

    cli_docs.add_parsers(sub)

    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("--model", help="load this model folder at start")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hearth` command; returns the process exit code."""
    if sys.stdout is None or sys.stderr is None:  # pragma: no cover - windowed Windows build
        # Hearth.exe is a windowed program with no console: printing would raise. Commands
        # belong to hearth-cli.exe; here their output goes nowhere rather than crash.
        devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as we do
        sys.stdout = sys.stdout or devnull
        sys.stderr = sys.stderr or devnull
    args = _parser().parse_args(argv)
    paths = AppPaths.from_env(args.data_dir)
    if args.command in (None, "gui"):
        from app.main import run_gui

        return run_gui(paths, getattr(args, "model", None))
    from app.core.logs import setup_logging

    setup_logging(paths)
    if args.command == "generate":
        return _generate(args, paths, sys.stdout, sys.stderr)
    if args.command == "conversations":
        return _conversations(args, paths, sys.stdout, sys.stderr)
    if args.command == "selftest":
        return _selftest(args, paths, sys.stdout)
    if args.command in ("hardware", "models"):
        return _models(args, paths, sys.stdout, sys.stderr)
    if args.command in ("docs", "ask"):
        return cli_docs.run(args, paths, sys.stdout, sys.stderr)
    return 2


def _open_store(paths: AppPaths, err: TextIO) -> Store:
    """The conversation store, with its notices (a damaged file kept aside) on stderr."""
    store = Store.for_paths(paths)
    for notice in store.notices:
        err.write(f"hearth: {notice}\n")
    return store


def _generate(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    from app.core.engine import ChatEngine, load_model

    if args.max_tokens < 1:
        err.write("hearth: --max-tokens must be at least 1\n")
        return 2
    messages = [ChatMessage("system", args.system)] if args.system else []
    messages.append(ChatMessage("user", args.prompt))
    options = GenerationOptions(max_new_tokens=args.max_tokens,
                                temperature=max(0.0, args.temperature),
                                reasoning_effort=args.reasoning)
    cancel = CancelToken()
    store: Store | None = None
    reply_id: int | None = None
    conversation_id: int | None = None
    # Ctrl+C stops the reply like the Stop button: the partial reply is kept and reported.
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        # The store opens first so that a storage problem is reported before a long model load.
        store = _open_store(paths, err) if args.save else None
        loaded = load_model(args.model, args.provider)
        for reason in loaded.fallbacks:
            err.write(f"hearth: {reason}\n")
        engine = ChatEngine(loaded)
        if store is not None:
            conv = store.create_conversation(
                model_name=loaded.name, model_path=str(loaded.path), first_message=args.prompt,
                settings=ConversationSettings.from_options(options, args.system or ""))
            conversation_id = conv.id
            reply_id = store.begin_reply(conv.id, model_name=loaded.name)
        result: GenerationResult | None = None
        for event in engine.stream(messages, options, cancel):
            if isinstance(event, TextDelta):
                if store is not None and reply_id is not None:
                    # Throttled by the store: cheap per token, written about once a second.
                    store.append_reply(reply_id, event.text, event.reasoning)
                # The answer goes to stdout; reasoning only to stderr and only when asked.
                if event.reasoning:
                    if args.show_reasoning:
                        err.write(event.text)
                        err.flush()
                elif not args.json:
                    out.write(event.text)
                    out.flush()
            else:
                result = event
        engine.close()
        assert result is not None
        if store is not None and reply_id is not None:
            store.finish_reply(reply_id, result)
    except AppError as exc:
        if store is not None and reply_id is not None:
            with contextlib.suppress(AppError):
                store.fail_reply(reply_id, exc.user_message)
        err.write(f"hearth: {exc.user_message}\n")
        if conversation_id is not None:
            err.write(f"conversation: {conversation_id}\n")
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
        if store is not None:
            store.close()
    if result.dropped_messages:
        err.write(f"hearth: dropped {result.dropped_messages} oldest messages to fit the "
                  "context window\n")
    if args.show_reasoning and result.reasoning:
        err.write("\n")
    if args.json:
        out.write(json.dumps({
            "text": result.text,
            "reasoning": result.reasoning,
            "reasoning_ms": round(result.reasoning_ms, 1),
            "finish_reason": str(result.finish_reason),
            "provider": result.provider,
            "model": loaded.name,
            "prompt_tokens": result.prompt_tokens,
            "generated_tokens": result.generated_tokens,
            "ttft_ms": round(result.ttft_ms, 2),
            "tok_s": round(result.tok_s, 2),
            "load_s": round(loaded.load_seconds, 3),
            "error": result.error or None,
            **({"conversation_id": conversation_id} if args.save else {}),
        }, ensure_ascii=False) + "\n")
    else:
        out.write("\n")
        if conversation_id is not None:
            err.write(f"conversation: {conversation_id}\n")
    if result.error:
        err.write(f"hearth: {result.error}\n")
        return 1
    return 0


def _conversations(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    try:
        with _open_store(paths, err) as store:
            if args.action == "list":
                return _list_conversations(store, args, out)
            if args.action == "show":
                out.write(export_conversation(store, args.id, "json" if args.json else "md",
                                              reasoning=args.reasoning))
                return 0
            if args.action == "search":
                return _search(store, args, out)
            if args.action == "export":
                text = (export_all(store, args.format, reasoning=args.reasoning) if args.all
                        else export_conversation(store, args.id, args.format,
                                                 reasoning=args.reasoning))
                if args.output:
                    _write_export(Path(args.output), text)
                else:
                    out.write(text)
                return 0
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return 1
    return 2


def _write_export(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"Could not write {path}: {exc.strerror or exc}.") from exc


def _list_conversations(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    entries = store.list_conversations(deleted=args.deleted)
    if args.json:
        out.write(json.dumps([{
            "id": e.id, "title": e.title, "group": e.group, "pinned": e.pinned,
            "model": e.model_name, "created_at": iso(e.created_at),
            "updated_at": iso(e.updated_at)} for e in entries], ensure_ascii=False) + "\n")
        return 0
    group = None
    for e in entries:
        if e.group != group and not args.deleted:
            group = e.group
            out.write(f"{group}\n")
        out.write(f"{e.id:>6}  {e.title or '(untitled)'}\n")
    return 0


def _search(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    hits = store.search(args.query, args.limit)
    if args.json:
        out.write(json.dumps([{
            "conversation_id": h.conversation_id, "title": h.title, "message_id": h.message_id,
            "snippet": h.snippet, "matches": h.matches} for h in hits],
            ensure_ascii=False) + "\n")
    else:
        for h in hits:
            out.write(f"{h.conversation_id:>6}  {h.title}\n        {h.snippet}\n")
    return 0


def _check_qt() -> Check:
    """Qt imports and can create an application (offscreen: no display needed)."""
    try:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import QCoreApplication
        from PySide6.QtGui import QGuiApplication
    except ImportError as exc:
        return Check("qt", "fail", f"PySide6 does not import: {exc}")
    if QCoreApplication.instance() is None:
        app = QGuiApplication(["hearth-selftest", "-platform", "offscreen"])
        platforms = app.platformName()
        del app
    else:
        platforms = "running"
    return Check("qt", "ok", f"PySide6 {pyside_version} ({platforms})")


def _selftest(args: argparse.Namespace, paths: AppPaths, out: TextIO) -> int:
    model = Path(args.model) if args.model else None
    checks = run_selftest(paths, model, args.provider, extra=(_check_qt,))
    ok = all(c.status != "fail" for c in checks)
    if args.json:
        out.write(json.dumps({"ok": ok, "version": __version__,
                              "checks": [c.as_dict() for c in checks]}) + "\n")
    else:
        for c in checks:
            out.write(f"{c.status:>4}  {c.name:<10} {c.detail}\n")
        out.write("self-test passed\n" if ok else "self-test FAILED\n")
    return 0 if ok else 1


def _models(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    """`hearth hardware` and `hearth models ...`: the installed models, and the catalog judged
    against this machine."""
    from app.core.catalog import load_catalog
    from app.core.hardware import assess_all, detect_hardware, gb, recommend

    if args.command == "models" and args.action != "list":
        return _model_action(args, paths, out, err, sys.stdin)
    installed: list[InstalledModel] = []
    default: DefaultModel | None = None
    if args.command == "models":
        from app.core.settings import SettingsStore

        try:
            library = _open_library(paths, err)
            installed = library.list()
            default = library.resolve_default(SettingsStore(paths).load()[0].model.default_model)
        except AppError as exc:
            err.write(f"hearth: {exc.user_message}\n")
            return 1
        if not args.json:
            _write_installed(installed, default, out)
    try:
        catalog = load_catalog()
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return 1
    hardware = detect_hardware(paths.models)
    fits = assess_all(catalog, hardware)
    best = recommend(catalog, hardware)
    best_id = best.entry.id if best else None
    if args.command == "hardware":
        if args.json:
            out.write(json.dumps({**hardware.as_dict(), "fits": [f.as_dict() for f in fits],
                                  "recommended": best_id}, ensure_ascii=False) + "\n")
            return 0
        out.write(f"system     {hardware.system}\n")
        out.write(f"memory     {gb(hardware.ram_total_bytes)} "
                  f"({gb(hardware.ram_available_bytes)} available)\n")
        for gpu in hardware.gpus:
            out.write(f"gpu        {gpu.name} ({gb(gpu.vram_bytes)})\n")
        if not hardware.gpus:
            out.write("gpu        none found\n")
        if hardware.disk_free_bytes is not None:
            out.write(f"disk free  {gb(hardware.disk_free_bytes)} ({paths.models})\n")
        out.write(f"runtime    {', '.join(f'{n} {v}' for n, v in hardware.packages) or 'none'}\n")
        out.write(f"providers  {', '.join(sorted(hardware.providers)) or 'none'}\n\n")
        for fit in fits:
            out.write(f"{fit.verdict:>4}  {fit.entry.id:<30} {fit.reason}\n")
    else:
        if args.json:
            out.write(json.dumps({
                "recommended": best_id, "installed": [m.as_dict() for m in installed],
                "default_model": None if default is None or default.path is None else {
                    "path": str(default.path), "id": default.model.id if default.model else None,
                    "problem": default.problem or None},
                "models": [{
                "id": f.entry.id, "name": f.entry.name, "repo": f.entry.repo,
                "licence": f.entry.licence, "reply_format": f.entry.reply_format,
                "context_tokens": f.entry.context_tokens,
                "description": {"en": f.entry.description_en, "ja": f.entry.description_ja},
                "notes": f.entry.notes,
                "variants": [{"providers": list(v.providers), "subfolder": v.subfolder,
                              "size_bytes": v.size_bytes, "ram_bytes": v.ram_bytes,
                              "vram_bytes": v.vram_bytes} for v in f.entry.variants],
                "fit": f.as_dict()} for f in fits]}, ensure_ascii=False) + "\n")
            return 0
        out.write("catalog\n")
        for fit in fits:
            size = gb(fit.variant.size_bytes) if fit.variant else "-"
            mark = "*" if fit.entry.id == best_id else " "
            out.write(f"{mark} {fit.entry.id:<30} {fit.verdict:>4} {size:>8}  "
                      f"{fit.entry.description_en}\n")
    if best is not None:
        out.write(f"\nrecommended: {best.entry.name}. {best.reason}\n")
    else:
        out.write("\nno model in the catalog fits this machine\n")
    return 0


def _open_library(paths: AppPaths, err: TextIO) -> ModelLibrary:
    """The model library, with its warnings (a damaged register rebuilt) on stderr."""
    from app.core.library import ModelLibrary

    library = ModelLibrary(paths)
    library.list()  # reads the register now, so its warnings come first
    for warning in library.warnings:
        err.write(f"hearth: {warning}\n")
    library.warnings.clear()
    return library


def _size(n: int) -> str:
    """Bytes as a short decimal figure ("924.8 kB", "1.2 GB")."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _write_installed(installed: Sequence[InstalledModel], default: DefaultModel | None,
                     out: TextIO) -> None:
    out.write("installed\n")
    if default is not None and default.problem:
        out.write(f"  {default.problem}\n")
    default_id = default.model.id if default is not None and default.model else None
    if not installed:
        out.write("  none yet: `hearth models import FOLDER`, or download one from the catalog\n\n")
        return
    width = max(len(m.id) for m in installed)
    for m in installed:
        used = (iso(m.last_used_at) or "")[:10] or "never used"
        state = "MISSING " + str(m.path) if m.missing else ("linked " + str(m.path) if m.linked
                                                          else "")
        if m.id == default_id:
            state = f"(default) {state}".strip()
        out.write(f"  {m.id:<{width}}  {m.provider_label:<8} {_size(m.size_bytes):>9}  "
                  f"{used:<10}  {m.name}{'  ' + state if state else ''}\n")
    out.write("\n")


def _model_action(args: argparse.Namespace, paths: AppPaths, out: TextIO, err: TextIO,
                  stdin: TextIO) -> int:
    """`hearth models import|remove|verify`."""
    try:
        library = _open_library(paths, err)
        if args.action == "import":
            return _import_model(library, args, out, err)
        if args.action == "remove":
            return _remove_model(library, args, out, err, stdin)
        if args.action == "verify":
            return _verify_model(library, args, out, err)
        if args.action == "search":
            return _search_models(library, args, out)
        if args.action == "download":
            return _download_model(library, args, out, err)
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return 1
    return 2


class _ProgressLine:
    """Progress on stderr: a line every 10% (and at the end), so logs stay readable."""

    def __init__(self, err: TextIO, verb: str) -> None:
        self.err = err
        self.verb = verb
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if percent // 10 > self._shown // 10 or (percent == 100 and self._shown != 100):
            self._shown = percent
            self.err.write(f"{self.verb}: {percent:3d}% ({_size(done)} of {_size(total)})\n")
            self.err.flush()


def _import_model(library: ModelLibrary, args: argparse.Namespace, out: TextIO,
                  err: TextIO) -> int:
    with cancel_on_interrupt() as cancel:
        model = library.import_folder(Path(args.path), link=args.link,
                                      progress=_ProgressLine(err, "copying"), cancel=cancel)
    if model is None:
        err.write("hearth: import cancelled; nothing was kept\n")
        return 130
    if args.json:
        out.write(json.dumps(model.as_dict(), ensure_ascii=False) + "\n")
    else:
        how = "linked (used where it is)" if model.linked else f"copied to {model.path}"
        out.write(f"imported {model.id}: {model.name}, {model.provider_label} build, "
                  f"{_size(model.size_bytes)}, {how}\n")
    return 0


def _remove_model(library: ModelLibrary, args: argparse.Namespace, out: TextIO, err: TextIO,
                  stdin: TextIO) -> int:
    model = library.get(args.id)
    deletes = library.owns_folder(model)
    if not args.yes:
        what = (f"Remove {model.name} ({model.id}) and delete {model.path} "
                f"({_size(model.size_bytes)})?" if deletes else
                f"Remove {model.name} ({model.id}) from the list? Its folder {model.path} is "
                "left as it is.")
        if not stdin.isatty():
            err.write(f"hearth: {what} Not removed: add --yes to confirm when not running in a "
                      "terminal.\n")
            return 2
        err.write(f"{what} [y/N] ")
        err.flush()
        if stdin.readline().strip().lower() not in ("y", "yes"):
            err.write("hearth: nothing removed\n")
            return 1
    freed = library.remove(model.id)
    if args.json:
        out.write(json.dumps({"id": model.id, "freed_bytes": freed, "deleted": freed > 0})
                  + "\n")
    else:
        out.write(f"removed {model.id}" + (f": {_size(freed)} freed\n" if freed else "\n"))
    return 0


def _verify_model(library: ModelLibrary, args: argparse.Namespace, out: TextIO,
                  err: TextIO) -> int:
    with cancel_on_interrupt() as cancel:
        report = library.verify(args.id, progress=_ProgressLine(err, "checking"), cancel=cancel)
    if report is None:
        err.write("hearth: verification cancelled\n")
        return 130
    if args.json:
        out.write(json.dumps(report.as_dict(), ensure_ascii=False) + "\n")
    elif report.ok:
        how = "checksums match" if report.hashed else "all files present, sizes match"
        out.write(f"{report.model_id}: ok ({report.checked_files} files, {how})\n")
    else:
        out.write(f"{report.model_id}: PROBLEMS\n")
        for problem in report.problems:
            out.write(f"  {problem}\n")
    return 0 if report.ok else 1


def _hub_options(paths: AppPaths) -> tuple[str | None, bool, str | None]:
    """(token, offline, endpoint) for a hub request: $HF_TOKEN or the keyring, the offline
    setting, and $HF_ENDPOINT (a mirror, or the test hub)."""
    from app.core.secrets import resolve_token
    from app.core.settings import SettingsStore

    settings, _ = SettingsStore(paths).load()
    offline = settings.privacy.offline_mode
    # No keyring lookup in offline mode: nothing will be sent anyway.
    token = None if offline else resolve_token()
    return token, offline, os.environ.get("HF_ENDPOINT") or None


def _search_models(library: ModelLibrary, args: argparse.Namespace, out: TextIO) -> int:
    from app.core.downloads import search_models

    token, offline, endpoint = _hub_options(library.paths)
    results = search_models(args.query, token=token, offline=offline, endpoint=endpoint,
                            limit=max(1, args.limit))
    if args.json:
        out.write(json.dumps([{
            "repo": r.repo, "downloads": r.downloads, "likes": r.likes, "gated": r.gated,
            "tags": list(r.tags), "builds": list(r.genai_subfolders)} for r in results],
            ensure_ascii=False) + "\n")
        return 0
    if not results:
        out.write(f"no models found for {args.query!r}\n")
    for r in results:
        gated = "  (needs a token)" if r.gated else ""
        out.write(f"{r.repo}  {r.downloads} downloads, {r.likes} likes{gated}\n")
        if r.loadable:
            for build in r.genai_subfolders:
                out.write(f"    --subfolder {build}\n" if build else "    (top folder)\n")
        else:
            out.write("    no ONNX Runtime GenAI build\n")
    return 0


def _catalog_build(repo: str, subfolder: str, paths: AppPaths,
                   err: TextIO) -> tuple[str, str, CatalogEntry | None, Variant | None]:
    """(repo, subfolder, catalog entry, variant) for a download request.

    A catalog id, or a catalog repo without --subfolder, takes the build that fits this machine
    (with a warning when none does); a repo and sub-folder that match a catalog build are
    recorded as that catalog model.
    """
    from app.core.catalog import load_catalog
    from app.core.hardware import assess, detect_hardware

    try:
        catalog = load_catalog()
    except AppError as exc:
        if "/" not in repo:
            raise
        err.write(f"hearth: {exc.user_message}\n")
        return repo, subfolder, None, None
    if "/" not in repo:
        entry: CatalogEntry | None = catalog.get(repo)
    else:
        entry = next((e for e in catalog if e.repo.lower() == repo.lower()), None)
    if entry is None:
        return repo, subfolder, None, None
    if subfolder:
        variant = next((v for v in entry.variants if v.subfolder.strip("/") == subfolder), None)
        return entry.repo, subfolder, entry if variant else None, variant
    fit = assess(entry, detect_hardware(paths.models))
    if fit.variant is None:
        raise AppError(f"{entry.name} has no build this machine can use: {fit.reason}")
    if fit.verdict == "no":
        err.write(f"hearth: warning: {entry.name} may not run here. {fit.reason}\n")
    return entry.repo, fit.variant.subfolder.strip("/"), entry, fit.variant


class _DownloadLine:
    """Download progress on stderr: a line every 10%, with the speed."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self._shown = -1

    def __call__(self, p: DownloadProgress) -> None:
        percent = min(100, int(p.fraction * 100))
        if percent // 10 > self._shown // 10 or (percent == 100 and self._shown != 100):
            self._shown = percent
            speed = f", {_size(int(p.bytes_per_s))}/s" if p.bytes_per_s > 0 else ""
            self.err.write(f"downloading: {percent:3d}% ({_size(p.done_bytes)} of "
                           f"{_size(p.total_bytes)}{speed})\n")
            self.err.flush()


def _download_model(library: ModelLibrary, args: argparse.Namespace, out: TextIO,
                    err: TextIO) -> int:
    from app.core import downloads
    from app.core.engine import PROVIDER_LABELS

    token, offline, endpoint = _hub_options(library.paths)
    repo, subfolder, entry, variant = _catalog_build(
        args.repo, (args.subfolder or "").replace("\\", "/").strip("/"), library.paths, err)
    where = f"{repo}/{subfolder}" if subfolder else repo
    for m in library.list():
        if (m.repo or "").lower() == repo.lower() and (m.subfolder or "") == subfolder \
                and not m.missing:
            raise AppError(f"{where} is already installed as {m.id!r}. Remove it first to "
                           "download it again.")
    # Offline mode is refused here, before any connection (OfflineError).
    plan = downloads.plan_download(repo, subfolder, revision=args.revision, token=token,
                                   offline=offline, endpoint=endpoint)
    names = [f.path for f in plan.files]
    if downloads.GENAI_CONFIG not in names:
        builds = sorted({n[:-len(downloads.GENAI_CONFIG)].rstrip("/") for n in names
                         if n.endswith("/" + downloads.GENAI_CONFIG)})
        if not builds:
            raise AppError(f"{where} holds no {downloads.GENAI_CONFIG}: it is not a model for "
                           "ONNX Runtime GenAI.")
        prefix = f"{subfolder}/" if subfolder else ""
        raise AppError(f"{where} holds several builds; choose one with --subfolder: "
                       + ", ".join(prefix + b for b in builds) + ".")
    dest = library.download_folder(repo, subfolder, entry.id if entry else None)
    resumed = downloads.partial_bytes(dest)
    err.write(f"downloading {repo}{'/' + subfolder if subfolder else ''} "
              f"({_size(plan.total_bytes)}, commit {plan.revision[:12]}) to {dest}"
              + (f", continuing from {_size(resumed)}" if resumed else "") + "\n")
    with cancel_on_interrupt() as cancel:
        try:
            result = downloads.download_model(plan, dest, token=token, offline=offline,
                                              endpoint=endpoint, progress=_DownloadLine(err),
                                              cancel=cancel)
        except downloads.DownloadStopped as exc:
            err.write(f"hearth: download paused at {_size(exc.done_bytes)} of "
                      f"{_size(exc.total_bytes)}; run the same command again to continue\n")
            return 130
    name = None
    if entry is not None and variant is not None:
        name = f"{entry.name} ({', '.join(PROVIDER_LABELS.get(p, p) for p in variant.providers)})"
    model = library.add_downloaded(result.folder, repo=result.repo,
                                   subfolder=result.subfolder or None, revision=result.revision,
                                   files=result.files, catalog_id=entry.id if entry else None,
                                   name=name)
    if args.json:
        out.write(json.dumps(model.as_dict(), ensure_ascii=False) + "\n")
    else:
        out.write(f"downloaded {model.id}: {model.name}, {model.provider_label} build, "
                  f"{_size(model.size_bytes)}, in {model.path}\n")
    return 0
