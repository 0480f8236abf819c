"""The engine against the real ONNX Runtime GenAI and the committed tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.chat import (
    CancelToken,
    ChatMessage,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    TextDelta,
)
from app.core.engine import ChatEngine, LoadedModel, load_model
from app.core.errors import ContextOverflowError, ModelLoadError, ProviderUnavailableError
from tests.conftest import TINY_LLAMA

GREEDY = GenerationOptions(max_new_tokens=24, temperature=0.0)


def run(engine: ChatEngine, messages: list[ChatMessage], options: GenerationOptions = GREEDY,
        cancel: CancelToken | None = None,
        continue_from: ChatMessage | None = None) -> tuple[list[TextDelta], GenerationResult]:
    deltas: list[TextDelta] = []
    result = None
    for event in engine.stream(messages, options, cancel, continue_from):
        if isinstance(event, TextDelta):
            deltas.append(event)
        else:
            result = event
    assert result is not None
    return deltas, result


# -- loading -------------------------------------------------------------------------------------
def test_load_on_cpu_reports_provider_and_context(llama: LoadedModel) -> None:
    assert llama.provider == "cpu"
    assert llama.provider_label == "CPU"
    assert llama.model_type == "llama"
    assert llama.context_tokens == 512
    assert llama.fallbacks == []


def test_auto_falls_back_to_cpu_with_reasons() -> None:
    loaded = load_model(TINY_LLAMA, "auto")
    assert loaded.provider == "cpu"
    # This CI machine has the CPU build: both GPU providers are skipped, each with its reason.
    assert any(r.startswith("CUDA") for r in loaded.fallbacks)
    assert any(r.startswith("DirectML") for r in loaded.fallbacks)


@pytest.mark.parametrize("provider", ["cuda", "dml"])
def test_named_missing_provider_is_a_clear_error(provider: str) -> None:
    with pytest.raises(ProviderUnavailableError, match="not available"):
        load_model(TINY_LLAMA, provider)


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(ProviderUnavailableError, match="Unknown provider"):
        load_model(TINY_LLAMA, "tpu")


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelLoadError, match=r"genai_config\.json is missing"):
        load_model(tmp_path)


def test_path_that_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="is not a folder"):
        load_model(tmp_path / "nope")


def test_corrupt_config(model_copy: Path) -> None:
    (model_copy / "genai_config.json").write_text("{ not json")
    with pytest.raises(ModelLoadError, match="damaged"):
        load_model(model_copy)


def test_missing_model_file_is_named(model_copy: Path) -> None:
    config = json.loads((model_copy / "genai_config.json").read_text())
    (model_copy / config["model"]["decoder"]["filename"]).unlink()
    with pytest.raises(ModelLoadError, match=r"incomplete: missing model\.onnx"):
        load_model(model_copy)


def test_missing_tokenizer_is_named(model_copy: Path) -> None:
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match=r"tokenizer\.json"):
        load_model(model_copy)


def test_corrupt_model_file(model_copy: Path) -> None:
    onnx = model_copy / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[: onnx.stat().st_size // 3])
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_model(model_copy)


def test_missing_chat_template_names_the_files(model_copy: Path) -> None:
    (model_copy / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((model_copy / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (model_copy / "tokenizer_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=r"chat_template\.jinja"):
        load_model(model_copy)


def test_gptoss_fixture_loads(gptoss: LoadedModel) -> None:
    assert gptoss.model_type == "gpt_oss" or "oss" in gptoss.model_type
    engine = ChatEngine(gptoss)
    _, result = run(engine, [ChatMessage("user", "Hello")])
    engine.close()
    assert result.generated_tokens > 0
    assert result.error == ""


# -- streaming -----------------------------------------------------------------------------------
def test_stream_reports_text_tokens_and_figures(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    deltas, result = run(engine, [ChatMessage("system", "Be brief."),
                                  ChatMessage("user", "Hello there")])
    engine.close()
    assert "".join(d.text for d in deltas) == result.text
    assert result.generated_tokens == len(result.token_ids) > 0
    assert deltas[-1].generated_tokens <= result.generated_tokens
    assert result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert result.generated_tokens <= GREEDY.max_new_tokens
    assert result.prompt_tokens == engine.count_tokens(
        [ChatMessage("system", "Be brief."), ChatMessage("user", "Hello there")])
    assert result.ttft_ms > 0
    assert result.provider == "cpu"


def test_max_new_tokens_ends_with_length(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    # min length is not settable, so look for a prompt whose greedy reply runs past 5 tokens.
    _, result = run(engine, [ChatMessage("user", "Tell me a long story")],
                    GenerationOptions(max_new_tokens=5, temperature=0.0))
    engine.close()
    if result.finish_reason is FinishReason.LENGTH:
        assert result.generated_tokens == 5
    else:
        assert result.generated_tokens < 5


def test_sampling_options_are_accepted(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    _, result = run(engine, [ChatMessage("user", "Hi")],
                    GenerationOptions(max_new_tokens=8, temperature=0.9, top_p=0.9, top_k=20))
    engine.close()
    assert result.error == ""
    assert result.generated_tokens > 0


# -- multi-turn reuse ----------------------------------------------------------------------------
def test_second_turn_reuses_the_first(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    history = [ChatMessage("system", "You are terse."), ChatMessage("user", "First question")]
    _, first = run(engine, history)
    history += [first.as_message(), ChatMessage("user", "Second question")]
    _, second = run(engine, history)
    engine.close()
    # Everything the request held (prompt 1 + reply 1) was reused; only the new part was fed.
    assert first.cached_tokens == 0
    assert second.cached_tokens == first.prompt_tokens + first.generated_tokens
    assert second.prompt_tokens > second.cached_tokens


def test_reused_turn_matches_a_fresh_prompt(llama: LoadedModel) -> None:
    history = [ChatMessage("user", "Question one")]
    warm = ChatEngine(llama)
    _, first = run(warm, history)
    history += [first.as_message(), ChatMessage("user", "Question two")]
    _, incremental = run(warm, history)
    warm.close()
    fresh = ChatEngine(llama)
    _, reference = run(fresh, history)
    fresh.close()
    assert reference.cached_tokens == 0
    assert incremental.token_ids == reference.token_ids


def test_regenerate_rewinds_and_repeats_greedy_reply(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    history = [ChatMessage("user", "Say something")]
    _, first = run(engine, history)
    _, again = run(engine, history)  # same history: the request must drop the old reply
    engine.close()
    assert again.token_ids == first.token_ids
    assert again.cached_tokens == 0


def test_switching_conversations_is_correct(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    a = [ChatMessage("user", "Conversation A")]
    b = [ChatMessage("user", "Something else entirely")]
    _, ra = run(engine, a)
    _, rb = run(engine, b)
    _, ra2 = run(engine, a)
    engine.close()
    assert ra2.token_ids == ra.token_ids
    assert rb.error == ""


# -- cancel --------------------------------------------------------------------------------------
def test_cancel_during_decode_keeps_partial_reply(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    cancel = CancelToken()
    history = [ChatMessage("user", "Write a long answer")]
    got = []
    result = None
    for event in engine.stream(history, GenerationOptions(max_new_tokens=200, temperature=0.0),
                               cancel):
        if isinstance(event, TextDelta):
            got.append(event)
            if len(got) == 3:
                cancel.cancel()
                cancel.cancel()  # pressing Stop twice is harmless
        else:
            result = event
    assert result is not None
    assert result.finish_reason is FinishReason.CANCELLED
    # Stopped within a step or two of the request.
    assert 3 <= result.generated_tokens <= 6
    # The engine goes on: the next turn builds on the partial reply.
    history += [result.as_message(), ChatMessage("user", "Continue")]
    _, nxt = run(engine, history)
    engine.close()
    assert nxt.error == ""
    assert nxt.cached_tokens == result.prompt_tokens + result.generated_tokens


def test_cancel_before_start(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    cancel = CancelToken()
    cancel.cancel()
    _, result = run(engine, [ChatMessage("user", "Hi")], GREEDY, cancel)
    engine.close()
    assert result.finish_reason is FinishReason.CANCELLED
    assert result.generated_tokens <= 1


# -- the context window --------------------------------------------------------------------------
def test_full_context_drops_oldest_turns_and_says_so(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    history = [ChatMessage("system", "Keep me.")]
    options = GenerationOptions(max_new_tokens=16, temperature=0.0)
    dropped_seen = []
    for i in range(30):
        history.append(ChatMessage("user", f"Message number {i} " + "lorem ipsum " * 8))
        _, result = run(engine, history, options)
        assert result.error == ""
        assert result.prompt_tokens + options.max_new_tokens <= llama.context_tokens
        dropped_seen.append(result.dropped_messages)
        history.append(result.as_message())
    engine.close()
    assert max(dropped_seen) > 0
    # Dropping goes well below the limit, so the following turns append again instead of
    # re-reading everything each turn.
    first_drop = next(i for i, d in enumerate(dropped_seen) if d)
    assert dropped_seen[first_drop + 1] == dropped_seen[first_drop]


def test_dropping_keeps_the_system_message(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    history = [ChatMessage("system", "SYSTEM-MARKER")]
    for i in range(12):
        history += [ChatMessage("user", f"question {i} " + "filler words " * 10),
                    ChatMessage("assistant", "an answer " * 5)]
    history.append(ChatMessage("user", "last"))
    prompt, dropped = engine._fit_context(history, GREEDY)
    engine.close()
    assert dropped > 0
    text = llama.tokenizer.decode(prompt)  # type: ignore[union-attr]
    assert "SYSTEM-MARKER" in text
    assert "question 0 " not in text
    assert text.rstrip().endswith("assistant") or "last" in text


def test_prompt_longer_than_context_is_a_clear_error(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    with pytest.raises(ContextOverflowError, match="too long"):
        run(engine, [ChatMessage("user", "word " * 2000)])
    # The engine is still usable afterwards.
    _, result = run(engine, [ChatMessage("user", "short")])
    engine.close()
    assert result.error == ""


def test_gptoss_second_turn_appends_to_the_cache(gptoss: LoadedModel) -> None:
    # The turn just generated is kept whole (analysis included) so turn 2 only appends.
    engine = ChatEngine(gptoss)
    history = [ChatMessage("user", "Hi")]
    _, first = run(engine, history)
    history += [first.as_message(), ChatMessage("user", "Again")]
    _, second = run(engine, history)
    engine.close()
    assert second.error == ""
    assert second.cached_tokens == first.prompt_tokens + first.generated_tokens


def test_gptoss_regenerate_renders_spec_exact_history(gptoss: LoadedModel) -> None:
    engine = ChatEngine(gptoss)
    history = [ChatMessage("user", "Hi")]
    _, first = run(engine, history)
    history += [first.as_message(), ChatMessage("user", "Again")]
    run(engine, history)
    _, again = run(engine, history)  # regenerate: the request must rewind anyway
    fresh = ChatEngine(gptoss)
    _, reference = run(fresh, history)
    engine.close()
    fresh.close()
    assert again.cached_tokens == 0
    # Both re-read the history in the spec's form, so greedy decoding gives the same reply.
    assert again.token_ids == reference.token_ids
    assert again.prompt_tokens == reference.prompt_tokens


# -- continuing a cut-off reply ------------------------------------------------------------------
def test_continue_goes_on_from_the_cut_off_text(llama: LoadedModel) -> None:
    engine = ChatEngine(llama)
    history = [ChatMessage("user", "Tell me a story")]
    partial = ChatMessage("assistant", "Once upon a time")
    deltas, result = run(engine, history, GenerationOptions(max_new_tokens=12, temperature=0.0),
                         continue_from=partial)
    engine.close()
    assert result.text.startswith("Once upon a time")
    assert "".join(d.text for d in deltas) == result.text[len("Once upon a time"):]
    prefix = engine.renderer.encode("Once upon a time")
    assert result.token_ids[:len(prefix)] == tuple(prefix)
    assert result.generated_tokens == len(result.token_ids) - len(prefix) > 0


def test_continue_a_gptoss_reply_cut_off_while_thinking(gptoss: LoadedModel) -> None:
    engine = ChatEngine(gptoss)
    partial = ChatMessage("assistant", "", reasoning="The user greets me. I should")
    _, result = run(engine, [ChatMessage("user", "Hi")],
                    GenerationOptions(max_new_tokens=8, temperature=0.0), continue_from=partial)
    engine.close()
    # The parser was primed with the cut-off text: it continues inside the analysis channel.
    assert result.reasoning.startswith("The user greets me. I should")
    assert "<|" not in result.text


class _OomRuntime:
    """A stand-in for one corner: a runtime whose GPU runs out of memory while the CPU works."""

    def __init__(self, real: object) -> None:
        self._real = real

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)

    class Config:
        def __init__(self, folder: str) -> None:
            self.providers: list[str] = []

        def clear_providers(self) -> None:
            pass

        def append_provider(self, name: str) -> None:
            self.providers.append(name)

        def overlay(self, _json: str) -> None:
            pass

    @staticmethod
    def Model(cfg: _OomRuntime.Config) -> None:
        raise RuntimeError("CUDA failure 2: out of memory ; GPU=0")


def test_gpu_out_of_memory_is_its_own_error(tmp_path: Path) -> None:
    import onnxruntime_genai as og

    from app.core.engine import _create_model
    from app.core.errors import OutOfMemoryError

    with pytest.raises(OutOfMemoryError, match="Not enough memory"):
        _create_model(_OomRuntime(og), tmp_path, "cuda", 2048)
