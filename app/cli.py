"""The `hearth` command: no arguments opens the window; subcommands run headless on app.core."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app import __version__
from app.core.chat import CancelToken, ChatMessage, GenerationOptions, GenerationResult, TextDelta
from app.core.errors import AppError
from app.core.paths import AppPaths
from app.core.selftest import Check, run_selftest

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

    st = sub.add_parser("selftest", help="check that this installation works")
    st.add_argument("--model", help="also load this model folder and generate a few tokens")
    st.add_argument("--provider", choices=PROVIDER_CHOICES, default="auto")
    st.add_argument("--json", action="store_true")

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
        return _generate(args, sys.stdout, sys.stderr)
    if args.command == "selftest":
        return _selftest(args, paths, sys.stdout)
    return 2


def _generate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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
    # Ctrl+C stops the reply like the Stop button: the partial reply is kept and reported.
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        loaded = load_model(args.model, args.provider)
        for reason in loaded.fallbacks:
            err.write(f"hearth: {reason}\n")
        engine = ChatEngine(loaded)
        result: GenerationResult | None = None
        for event in engine.stream(messages, options, cancel):
            if isinstance(event, TextDelta):
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
    except AppError as exc:
        err.write(f"hearth: {exc.user_message}\n")
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result is not None
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
        }, ensure_ascii=False) + "\n")
    else:
        out.write("\n")
    if result.error:
        err.write(f"hearth: {result.error}\n")
        return 1
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
