"""Streaming benchmark: runtime vs app throughput, GUI stalls, cancel latency, multi-turn TTFT.

    python benchmarks/streaming.py [--quick]

Builds a ~40M-parameter random llama (int4) with tools/make_tiny_models.py on first use and
caches it in ~/.cache/hearth-dev/models (set HEARTH_TORCH_PYTHON to a Python 3.11 with torch
2.13.0 and tools/requirements-models.txt, see tools/README.md). Progress goes to stderr; the last
line of stdout is one JSON object with the figures.

What each figure is:
- raw_tok_s: decode rate of a bare onnxruntime_genai Engine loop (no app code), 256 tokens.
- app_tok_s: the same prompt and token count through ChatEngine + worker thread + Qt signals into
  the chat pane, offscreen, timed on the GUI thread from the first text to the finished signal.
- ratio: app_tok_s / raw_tok_s.
- ttft_ms: Send until the first text reaches the chat pane (short prompt).
- gui_max_stall_ms / gui_p99_stall_ms: the GUI thread's longest and 99th-percentile gap between
  ticks of a 1 ms timer while a 1,500-token prompt is read and 256 tokens are generated.
- cancel_latency_ms: Stop pressed during decode until the finished signal (median of 5).
- turn_ttft_ratio: time to first token of turn 10 over turn 1, 100 new user tokens and 100
  generated tokens per turn.
- gptoss_turn_ttft_ratio: the same on a ~40M random gpt-oss (bench-gptoss), whose history follows
  the harmony drop rule; gptoss_turn_ttft_ratio_naive applies the drop rule to every turn.
  The app keeps the analysis of the turns it generated in the cache and renders spec-exact
  history only when it must re-read anyway (app/core/engine.py, HarmonyPromptRenderer): with
  the Engine API every rewind re-reads the whole history.
- ui_token_ms_start / _end: median GUI-thread cost of one streamed token in the chat pane (append
  plus layout and paint) over the first and the last 10% of a 4,000-token Markdown reply.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = Path(os.environ.get("HEARTH_BENCH_CACHE", Path.home() / ".cache/hearth-dev/models"))
NEW_TOKENS = 256
SHORT_PROMPT = "Explain in detail how a refrigerator works, step by step, for a curious child."


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure_model(preset: str) -> Path:
    """The cached bench model folder, built with the project's tool if missing."""
    out = CACHE / preset
    if (out / "genai_config.json").is_file():
        return out
    python = os.environ.get("HEARTH_TORCH_PYTHON")
    if not python:
        sys.exit(f"{out} is missing. Set HEARTH_TORCH_PYTHON to a Python 3.11 with torch 2.13.0 "
                 "and tools/requirements-models.txt (see tools/README.md) to build it.")
    log(f"building {preset} into {out} ...")
    subprocess.run([python, str(ROOT / "tools/make_tiny_models.py"), preset, "--out", str(out)],
                   check=True)
    return out


def filler_text(renderer: Any, target_tokens: int) -> str:
    """English prose of about `target_tokens` tokens for this model's tokenizer."""
    sentence = ("The quick brown fox jumps over the lazy dog while the patient farmer counts "
                "his sheep near the old stone bridge. ")
    text = sentence
    while len(renderer.encode(text)) < target_tokens:
        text += sentence
    ids = renderer.encode(text)[:target_tokens]
    return str(renderer._tok.decode(ids))


# -- raw runtime -----------------------------------------------------------------------------------
def bench_raw(model_dir: Path, reps: int) -> float:
    import numpy as np
    import onnxruntime_genai as og

    model = og.Model(str(model_dir))
    tok = og.Tokenizer(model)
    prompt = tok.apply_chat_template(json.dumps([{"role": "user", "content": SHORT_PROMPT}]),
                                     add_generation_prompt=True)
    tokens = np.asarray(tok.encode(prompt), dtype=np.int32)
    engine = og.Engine(model)
    buf = engine.create_event_buffer(64)
    rates = []
    for rep in range(reps + 1):
        req = engine.create_request()
        opts = og.TurnOptions(req)
        opts.set_max_generated_tokens(NEW_TOKENS)
        opts.set_min_generated_tokens(NEW_TOKENS)
        opts.set_do_sample(False)
        req.begin_turn(tokens, opts)
        stamps = []
        done = False
        while not done:
            engine.run(buf)
            for i in range(len(buf)):
                ev = buf[i]
                if ev.flags & og.EngineEventFlags.TOKEN:
                    stamps.append(time.perf_counter())
                if ev.flags & og.EngineEventFlags.TURN_FINISHED:
                    done = True
        req.close()
        if rep:  # the first run warms up
            rates.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
    return statistics.median(rates)


# -- through the app ----------------------------------------------------------------------------
class AppHarness:
    """A main window with the service, offscreen, loaded with the bench model."""

    def __init__(self, model_dir: Path) -> None:
        from PySide6.QtWidgets import QApplication

        from app.main import resources_dir
        from app.ui.main_window import MainWindow
        from app.workers.generation import GenerationService

        self.app = QApplication.instance() or QApplication([])
        self.app.setStyleSheet((resources_dir() / "style.qss").read_text(encoding="utf-8"))
        self.service = GenerationService()
        self.window = MainWindow(self.service)
        self.window.resize(1000, 760)
        self.window.show()
        self.window.provider_combo.setCurrentIndex(self.window.provider_combo.findData("cpu"))
        self.window.load_model(str(model_dir))
        self.wait_for(self.service.model_loaded)

    def wait_for(self, signal: Any, timeout_ms: int = 120_000) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        signal.disconnect(loop.quit)

    def reply(self, text: str, new_tokens: int, stop_after_tokens: int | None = None,
              tick: bool = False) -> dict[str, Any]:
        """Send `text` in a new chat and time what the GUI thread sees."""
        from PySide6.QtCore import Qt, QTimer

        from app.core.chat import GenerationOptions

        chat = self.window.chat
        chat.new_chat()
        chat.options = GenerationOptions(max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                         temperature=0.0)
        seen: dict[str, Any] = {"deliveries": [], "gaps": [], "stop_at": None}

        def on_text(_rid: int, _text: str, n: int, _reasoning: bool) -> None:
            seen["deliveries"].append((time.perf_counter(), n))
            if stop_after_tokens is not None and seen["stop_at"] is None \
                    and n >= stop_after_tokens:
                seen["stop_at"] = time.perf_counter()
                chat.stop()

        def on_finished(_rid: int, result: Any) -> None:
            seen["finished_at"] = time.perf_counter()
            seen["result"] = result

        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(1)
        last = [time.perf_counter()]

        def on_tick() -> None:
            now = time.perf_counter()
            seen["gaps"].append((now - last[0]) * 1000.0)
            last[0] = now

        timer.timeout.connect(on_tick)
        self.service.text_generated.connect(on_text)
        self.service.finished.connect(on_finished)
        chat.input.setPlainText(text)
        seen["sent_at"] = time.perf_counter()
        if tick:
            last[0] = time.perf_counter()
            timer.start()
        chat.send_or_stop()
        self.wait_for(self.service.finished)
        timer.stop()
        self.service.text_generated.disconnect(on_text)
        self.service.finished.disconnect(on_finished)
        return seen

    def close(self) -> None:
        self.window.close()
        self.service.shutdown()


def bench_app(h: AppHarness, reps: int) -> tuple[float, float]:
    rates, ttfts = [], []
    for rep in range(reps + 1):
        seen = h.reply(SHORT_PROMPT, NEW_TOKENS)
        (t_first, n_first) = seen["deliveries"][0]
        total = seen["result"].generated_tokens
        assert total == NEW_TOKENS, total
        if rep:
            rates.append((total - n_first) / (seen["finished_at"] - t_first))
            ttfts.append((t_first - seen["sent_at"]) * 1000.0)
    return statistics.median(rates), statistics.median(ttfts)


def bench_stall(h: AppHarness, prompt: str) -> tuple[float, float]:
    seen = h.reply(prompt, NEW_TOKENS, tick=True)
    gaps = sorted(seen["gaps"])
    p99 = gaps[int(0.99 * (len(gaps) - 1))]
    log(f"  stall: {len(gaps)} ticks, prompt {seen['result'].prompt_tokens} tokens, "
        f"ttft {seen['result'].ttft_ms:.0f} ms")
    return max(gaps), p99


def bench_cancel(h: AppHarness, reps: int) -> float:
    latencies = []
    for _ in range(reps):
        seen = h.reply(SHORT_PROMPT, 1000, stop_after_tokens=30)
        assert seen["result"].finish_reason == "cancelled"
        latencies.append((seen["finished_at"] - seen["stop_at"]) * 1000.0)
    log(f"  cancel latencies ms: {[round(x, 1) for x in latencies]}")
    return statistics.median(latencies)


def bench_ui_tokens(h: AppHarness, renderer: Any) -> tuple[float, float, int]:
    """Per-token GUI cost of streaming a long Markdown reply into a message of the chat pane."""
    chat = h.window.chat
    chat.new_chat()
    text = long_markdown()
    ids = renderer.encode(text)[:4000]
    stream = renderer._tok.create_stream()
    pieces = [stream.decode(int(t)) for t in ids]
    widget = chat._add_widget("assistant", "bench")
    costs = []
    for piece in pieces:
        started = time.perf_counter()
        widget.append(piece)
        h.app.processEvents()  # layout, sticky scroll and paint: what one update costs
        costs.append((time.perf_counter() - started) * 1000.0)
    widget.finish()
    tenth = len(costs) // 10
    return statistics.median(costs[:tenth]), statistics.median(costs[-tenth:]), len(pieces)


def long_markdown() -> str:
    parts = []
    for i in range(60):
        parts.append(f"## Section {i}\n\nSome **bold** text, `inline code` and a [link]"
                     f"(https://example.com/{i}) in a paragraph that runs on for a while.\n")
        parts.append("- first point\n- second point with *emphasis*\n- third point\n")
        parts.append("| name | value |\n|---|---|\n| alpha | 1 |\n| beta | 2 |\n")
        parts.append(f"```python\ndef f{i}(x):\n    return x * {i}\n```\n")
    return "\n".join(parts)


# -- multi-turn --------------------------------------------------------------------------------
def bench_turns(model_dir: Path, turns: int = 10,
                naive_drop: bool = False) -> tuple[float, list[float]]:
    """TTFT of turn `turns` over turn 1. `naive_drop` (gpt-oss) re-renders spec-exact history
    every turn, which rewinds the request: the cost the app's strategy avoids."""
    from app.core.chat import ChatMessage, GenerationOptions
    from app.core.engine import ChatEngine, load_model

    loaded = load_model(model_dir, "cpu")
    engine = ChatEngine(loaded)
    user = filler_text(engine.renderer, 100)
    options = GenerationOptions(max_new_tokens=100, min_new_tokens=100, temperature=0.0)
    # Warm the runtime up on another conversation, so turn 1 is not also the first run ever.
    for _ in engine.stream([ChatMessage("user", "warm up")],
                           GenerationOptions(max_new_tokens=4, temperature=0.0)):
        pass
    history: list[ChatMessage] = []
    ttfts = []
    for i in range(turns):
        history.append(ChatMessage("user", f"Turn {i}. {user}"))
        if naive_drop:
            engine._kept_turns = 0
        result = None
        for event in engine.stream(history, options):
            result = event
        assert result is not None
        assert not result.dropped_messages
        ttfts.append(result.ttft_ms)
        history.append(result.as_message())
    engine.close()
    return ttfts[-1] / ttfts[0], ttfts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    reps = 1 if args.quick else 5
    model_dir = ensure_model("bench-llama")
    figures: dict[str, Any] = {"model": model_dir.name}

    log("raw runtime loop ...")
    figures["raw_tok_s"] = round(bench_raw(model_dir, reps), 1)
    log("multi-turn ...")
    ratio, ttfts = bench_turns(model_dir)
    figures["turn_ttft_ratio"] = round(ratio, 2)
    figures["turn_ttft_ms"] = [round(t, 1) for t in ttfts]
    log("multi-turn, gpt-oss ...")
    gptoss_dir = ensure_model("bench-gptoss")
    ratio, ttfts = bench_turns(gptoss_dir)
    figures["gptoss_turn_ttft_ratio"] = round(ratio, 2)
    figures["gptoss_turn_ttft_ms"] = [round(t, 1) for t in ttfts]
    figures["gptoss_turn_ttft_ratio_naive"] = round(bench_turns(gptoss_dir, naive_drop=True)[0], 2)

    h = AppHarness(model_dir)
    log("app throughput ...")
    app_rate, ttft = bench_app(h, reps)
    figures["app_tok_s"] = round(app_rate, 1)
    figures["ratio"] = round(app_rate / figures["raw_tok_s"], 3)
    figures["ttft_ms"] = round(ttft, 1)
    log("GUI stall during a 1,500-token prompt ...")
    from app.core.engine import ChatEngine, load_model

    probe = ChatEngine(load_model(model_dir, "cpu"))
    prompt = filler_text(probe.renderer, 1500)
    figures["gui_max_stall_ms"], figures["gui_p99_stall_ms"] = (
        round(x, 1) for x in bench_stall(h, prompt))
    log("cancel latency ...")
    figures["cancel_latency_ms"] = round(bench_cancel(h, 5), 1)
    log("UI cost per streamed token ...")
    start, end, n = bench_ui_tokens(h, probe.renderer)
    probe.close()
    figures["ui_token_ms_start"] = round(start, 3)
    figures["ui_token_ms_end"] = round(end, 3)
    figures["ui_tokens"] = n
    h.close()
    figures["targets_met"] = {
        "ratio>=0.97": figures["ratio"] >= 0.97,
        "gui_max_stall_ms<=50": figures["gui_max_stall_ms"] <= 50,
        "cancel_latency_ms<=100": figures["cancel_latency_ms"] <= 100,
        "turn_ttft_ratio<=2.0": figures["turn_ttft_ratio"] <= 2.0,
        "gptoss_turn_ttft_ratio<=2.5": figures["gptoss_turn_ttft_ratio"] <= 2.5,
        "ui_token_end<=1.5x_start": end <= 1.5 * start,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
