#!/usr/bin/env python3
"""Smoke-test an ONNX Runtime GenAI model folder: load, chat template, Engine generation.

Needs only onnxruntime-genai and numpy, so it runs in the app's environment as well as in the
model-building one:

    python tools/check_model.py tests/fixtures/models/tiny-gptoss --tokens 40 --stop-check 200

``--stop-check N`` samples N short generations with the classic Generator and checks that
generation ends exactly when one of the tokenizer's ``eos_token_ids`` is produced.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime_genai as og

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "こんにちは! Write one short line about the sea."},
]


def load(model_dir: Path) -> tuple[og.Model, og.Tokenizer]:
    """Load the model on the CPU with one thread."""
    config = og.Config(str(model_dir))
    config.clear_providers()
    overlay = {"model": {"decoder": {"session_options": {"intra_op_num_threads": 1}}}}
    config.overlay(json.dumps(overlay))
    model = og.Model(config)
    return model, og.Tokenizer(model)


def engine_turn(model: og.Model, prompt_ids: np.ndarray, max_new: int) -> dict[str, Any]:
    """Run one greedy Engine turn of exactly ``max_new`` tokens and return what it produced."""
    engine = og.Engine(model)
    request = engine.create_request()
    options = og.TurnOptions(request)
    options.set_do_sample(False)
    options.set_max_generated_tokens(max_new)
    options.set_min_generated_tokens(max_new)
    buffer = engine.create_event_buffer(64)
    started = time.perf_counter()
    request.begin_turn(prompt_ids.astype(np.int32), options)
    tokens: list[int] = []
    finish = None
    while finish is None:
        if not engine.has_pending_requests():
            raise RuntimeError("the engine went idle before the turn finished")
        engine.run(buffer)
        for i in range(len(buffer)):
            event = buffer[i]
            if event.flags & og.EngineEventFlags.TOKEN:
                tokens.append(int(event.token))
            if event.flags & og.EngineEventFlags.TURN_FINISHED:
                finish = event.finish_reason
    elapsed = time.perf_counter() - started
    request.close()
    return {"tokens": tokens, "finish_reason": str(finish), "seconds": round(elapsed, 3)}


def stop_check(
    model: og.Model, vocab_size: int, eos_ids: set[int], prompt_ids: np.ndarray, runs: int
) -> dict[str, Any]:
    """Sample ``runs`` generations; check that each stops at an EOS id and only there."""
    stopped_by: dict[int, int] = {}
    for seed in range(runs):
        params = og.GeneratorParams(model)
        params.set_search_options(
            do_sample=True,
            top_k=vocab_size,
            temperature=4.0,
            random_seed=seed,
            max_length=512,
        )
        generator = og.Generator(model, params)
        generator.append_tokens(prompt_ids)
        for _ in range(64):
            generator.generate_next_token()
            token = int(generator.get_next_tokens()[0])
            if token in eos_ids:
                if not generator.is_done():
                    raise RuntimeError(f"seed {seed}: EOS id {token} did not end generation")
                stopped_by[token] = stopped_by.get(token, 0) + 1
                break
            if generator.is_done():
                raise RuntimeError(f"seed {seed}: generation ended on non-EOS id {token}")
    return {"runs": runs, "stopped_by": stopped_by}


def check(model_dir: Path, max_new: int, stop_runs: int) -> dict[str, Any]:
    """Run all checks on one folder and return a summary."""
    started = time.perf_counter()
    model, tokenizer = load(model_dir)
    load_seconds = time.perf_counter() - started
    eos_ids = [int(i) for i in tokenizer.eos_token_ids]
    prompt = tokenizer.apply_chat_template(json.dumps(MESSAGES), add_generation_prompt=True)
    prompt_ids = tokenizer.encode(prompt)
    turn = engine_turn(model, prompt_ids, max_new)
    if len(turn["tokens"]) != max_new:
        raise RuntimeError(f"generated {len(turn['tokens'])} tokens, wanted {max_new}")
    text = tokenizer.decode(np.array(turn["tokens"], dtype=np.int32))
    tokenizer.update_options(skip_special_tokens="false")
    text_with_specials = tokenizer.decode(np.array(turn["tokens"], dtype=np.int32))
    if tokenizer.decode(prompt_ids) != prompt:
        raise RuntimeError("decode(encode(prompt)) differs from the prompt")
    stream = tokenizer.create_stream()
    streamed = "".join(stream.decode(t) for t in turn["tokens"])
    config = json.loads((model_dir / "genai_config.json").read_text())
    summary: dict[str, Any] = {
        "folder": str(model_dir),
        "model_type": model.type,
        "load_seconds": round(load_seconds, 3),
        "context_length": config["model"]["context_length"],
        "max_length": config["search"]["max_length"],
        "eos_token_ids": eos_ids,
        "bos_token_id": int(tokenizer.bos_token_id),
        "pad_token_id": int(tokenizer.pad_token_id),
        "prompt": prompt,
        "prompt_tokens": len(prompt_ids),
        "generated": len(turn["tokens"]),
        "finish_reason": turn["finish_reason"],
        "generate_seconds": turn["seconds"],
        "tokens": turn["tokens"],
        "text": text,
        "text_with_specials": text_with_specials,
        "streamed_equals_decoded": streamed == text_with_specials,
    }
    if stop_runs:
        vocab_size = config["model"]["vocab_size"]
        summary["stop_check"] = stop_check(model, vocab_size, set(eos_ids), prompt_ids, stop_runs)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--tokens", type=int, default=40, help="tokens to generate (default 40)")
    parser.add_argument(
        "--stop-check", type=int, default=0, metavar="N", help="sampled runs for the EOS check"
    )
    args = parser.parse_args(argv)
    summary = check(args.model_dir, args.tokens, args.stop_check)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
