"""The `hearth` command: no arguments opens the window; subcommands run headless on app.core."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app import __version__
from app.core.chat import CancelToken, ChatMessage, GenerationOptions, GenerationResult, TextDelta
from app.core.errors import AppError, StorageError
from app.core.export import export_all, export_conversation, iso
from app.core.paths import AppPaths
from app.core.selftest import Check, run_selftest
from app.core.store import ConversationSettings, Store

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

    models = sub.add_parser("models", help="the curated model catalog")
    models_sub = models.add_subparsers(dest="action", required=True)
    mls = models_sub.add_parser("list", help="the catalog, with how each model fits this machine")
    mls.add_argument("--json", action="store_true")

    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("--model", help="load this model folder at start")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hearth` command; returns the process exit code."""
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
    """`hearth hardware` and `hearth models list`: the catalog judged against this machine."""
    from app.core.catalog import load_catalog
    from app.core.hardware import assess_all, detect_hardware, gb, recommend

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
            out.write(json.dumps({"recommended": best_id, "models": [{
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
