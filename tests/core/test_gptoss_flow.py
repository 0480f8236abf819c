"""gpt-oss end to end on the committed tiny model: prompt, generation, parsing, history.

The random model writes noise without channel structure, so the reasoning/answer split is also
checked with a reply built from the real tokenizer's ids (a scripted token stream).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.chat import ChatMessage, GenerationOptions, GenerationResult, TextDelta
from app.core.engine import ChatEngine, LoadedModel, _ReplyDecoder

REPLY = ("<|channel|>analysis<|message|>User greets. Reply briefly.<|end|>"
         "<|start|>assistant<|channel|>final<|message|>Hello! How can I help?")


def decode_specials(loaded: LoadedModel, ids: list[int]) -> str:
    import onnxruntime_genai as og

    tok = og.Tokenizer(loaded.model)  # a separate tokenizer: options are per instance
    tok.update_options(skip_special_tokens="false")
    return str(tok.decode(ids))


@pytest.fixture
def engine(gptoss: LoadedModel) -> Iterator[ChatEngine]:
    eng = ChatEngine(gptoss)
    yield eng
    eng.close()


def test_fixture_is_detected_as_harmony(gptoss: LoadedModel) -> None:
    assert gptoss.reply_format == "harmony"


def test_prompt_is_harmony_with_effort_and_date(gptoss: LoadedModel, engine: ChatEngine) -> None:
    options = GenerationOptions(reasoning_effort="high", conversation_date="2026-11-28")
    ids = engine.renderer.render([ChatMessage("system", "Answer in French."),
                                  ChatMessage("user", "Hi")], options)
    text = decode_specials(gptoss, ids)
    assert text.startswith("<|start|>system<|message|>")
    assert "Reasoning: high" in text
    assert "Current date: 2026-11-28" in text
    assert "<|start|>developer<|message|># Instructions\n\nAnswer in French.<|end|>" in text
    assert text.endswith("<|start|>user<|message|>Hi<|end|><|start|>assistant")


def test_reply_ids_split_into_reasoning_and_answer(gptoss: LoadedModel,
                                                   engine: ChatEngine) -> None:
    ids = engine.renderer.encode(REPLY)
    decoder = _ReplyDecoder(gptoss, engine.renderer)
    pieces = [p for t in ids for p in decoder.feed(t)] + decoder.finish(stopped=True)
    assert "".join(t for t, r in pieces if r) == "User greets. Reply briefly."
    assert "".join(t for t, r in pieces if not r) == "Hello! How can I help?"
    assert decoder.reasoning == "User greets. Reply briefly."
    assert decoder.answer == "Hello! How can I help?"


def test_generated_reply_is_parsed_and_stored(engine: ChatEngine) -> None:
    history = [ChatMessage("user", "Hi")]
    deltas: list[TextDelta] = []
    result = None
    for event in engine.stream(history, GenerationOptions(max_new_tokens=40, temperature=0.0)):
        if isinstance(event, TextDelta):
            deltas.append(event)
        else:
            result = event
    assert isinstance(result, GenerationResult)
    assert result.generated_tokens > 0
    answer = "".join(d.text for d in deltas if not d.reasoning)
    reasoning = "".join(d.text for d in deltas if d.reasoning)
    # Noise has no blank-line joins between messages, so the streamed parts are the stored ones.
    assert answer.replace("\n", "") == result.text.replace("\n", "")
    assert reasoning.replace("\n", "") == result.reasoning.replace("\n", "")
    message = result.as_message()
    assert (message.content, message.reasoning) == (result.text, result.reasoning)
    assert "<|" not in result.text  # no raw harmony tags reach the user


def test_drop_rule_in_history(gptoss: LoadedModel, engine: ChatEngine) -> None:
    ids = tuple(engine.renderer.encode(REPLY))
    history = [ChatMessage("user", "Hi"),
               ChatMessage("assistant", "Hello! How can I help?", ids,
                           "User greets. Reply briefly."),
               ChatMessage("user", "Thanks")]
    # A full render (regenerate, a new engine): earlier analysis dropped, the answer kept as a
    # final message ended by <|end|>.
    exact = decode_specials(gptoss, engine.renderer.render(history))
    assert "User greets" not in exact
    assert ("<|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|end|>"
            "<|start|>user<|message|>Thanks<|end|><|start|>assistant") in exact
    # While the request still holds that turn, its exact ids (analysis included) are kept.
    kept = decode_specials(gptoss, engine.renderer.render(history, keep_analysis_last=1))
    assert "<|channel|>analysis<|message|>User greets. Reply briefly.<|end|>" in kept
    assert "Hello! How can I help?<|end|><|start|>user<|message|>Thanks" in kept
