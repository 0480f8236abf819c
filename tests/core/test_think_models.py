"""Models that write `<think>...</think>` (Qwen3, DeepSeek-R1 distills) get reasoning apart.

The fixture is the tiny llama with a template that opens a think block after the generation
prompt, as R1 distills do; the reply split is checked with the real tokenizer's ids.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.core.chat import ChatMessage, GenerationOptions, GenerationResult
from app.core.engine import ChatEngine, _ReplyDecoder, load_model, reply_format
from tests.conftest import TINY_GPTOSS, TINY_LLAMA


def make_think_model(model_copy: Path) -> Path:
    # The runtime reads tokenizer_config.json's template first; change both copies.
    template = (model_copy / "chat_template.jinja").read_text()
    think = template.replace("<|im_start|>assistant\\n", "<|im_start|>assistant\\n<think>\\n")
    (model_copy / "chat_template.jinja").write_text(think)
    config = json.loads((model_copy / "tokenizer_config.json").read_text())
    config["chat_template"] = think
    (model_copy / "tokenizer_config.json").write_text(json.dumps(config))
    return model_copy


def test_reply_format_comes_from_the_files(model_copy: Path) -> None:
    assert reply_format(TINY_LLAMA) == "plain"
    assert reply_format(TINY_GPTOSS) == "harmony"
    assert reply_format(make_think_model(model_copy)) == "think"


def test_think_reply_is_split(model_copy: Path) -> None:
    loaded = load_model(make_think_model(model_copy), "cpu")
    engine = ChatEngine(loaded)
    engine.renderer.render([ChatMessage("user", "Why is the sky blue?")])
    assert engine.renderer.last_text.endswith("<|im_start|>assistant\n<think>\n")  # type: ignore[attr-defined]
    decoder = _ReplyDecoder(loaded, engine.renderer)
    ids = engine.renderer.encode("Rayleigh scattering, short waves.\n</think>\n\nBecause of "
                                 "scattering.")
    pieces = [p for t in ids for p in decoder.feed(t)] + decoder.finish(stopped=True)
    assert decoder.reasoning == "Rayleigh scattering, short waves."
    assert decoder.answer == "Because of scattering."
    assert "".join(t for t, r in pieces if not r) == "Because of scattering."
    result = None
    for event in engine.stream([ChatMessage("user", "Hi")],
                               GenerationOptions(max_new_tokens=16, temperature=0.0)):
        result = event
    engine.close()
    assert isinstance(result, GenerationResult)
    # Until the model closes the block, everything it writes is reasoning (noise here).
    assert result.generated_tokens > 0
    assert "</think>" not in result.text
