"""The generation engine: loads an ONNX Runtime GenAI model folder and streams replies.

Built on the runtime's Engine/Request API (0.18) rather than the classic Generator, for two
measured reasons (shared notes, onnxruntime-genai.md):
- Engine calls release the GIL, so a long prefill in a worker thread does not freeze the GUI
  (the Generator held it for 1.3 s on a small model);
- a Request keeps its KV cache across turns, so turn N only prefills its new tokens.

Every Engine/Request call must come from the thread that created the Engine, so a `ChatEngine`
is created and used on one thread; other threads only touch the `CancelToken`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from app.core import harmony
from app.core.chat import (
    CancelToken,
    ChatMessage,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    StreamEvent,
    TextDelta,
)
from app.core.errors import (
    ContextOverflowError,
    GenerationError,
    ModelLoadError,
    OutOfMemoryError,
    ProviderUnavailableError,
)

if TYPE_CHECKING:
    import onnxruntime_genai as og

log = logging.getLogger(__name__)

PROVIDERS = ("cpu", "cuda", "dml")
"""Execution providers the app knows by name. `auto` tries them in `AUTO_ORDER`."""
AUTO_ORDER = ("cuda", "dml", "cpu")
PROVIDER_LABELS = {"cpu": "CPU", "cuda": "CUDA", "dml": "DirectML"}
DEFAULT_CONTEXT_CAP = 8192
"""The request's KV cache is allocated for the whole session up front, so a 128k-context model
would reserve gigabytes it rarely needs; users can raise the cap per model."""
_SPLICE = "\u2063HEARTH_IDS_{}\u2063"
ReplyFormat = Literal["harmony", "think", "plain"]


@dataclass
class LoadedModel:
    """A model loaded on a provider, with what the UI reports about it."""

    path: Path
    name: str
    model_type: str
    provider: str
    context_tokens: int
    load_seconds: float
    fallbacks: list[str] = field(default_factory=list)
    """Why preferred providers were skipped, e.g. "CUDA: not installed"."""
    reply_format: ReplyFormat = "plain"
    """How replies carry reasoning: gpt-oss harmony channels, `<think>` tags, or not at all."""
    model: og.Model | None = field(default=None, repr=False)
    tokenizer: og.Tokenizer | None = field(default=None, repr=False)

    @property
    def provider_label(self) -> str:
        """The provider as users know it."""
        return PROVIDER_LABELS.get(self.provider, self.provider)


def read_model_config(path: Path) -> dict[str, Any]:
    """Check that `path` is a usable model folder and return its genai_config.json.

    Catches the common mistakes before the runtime does, with messages that name the file: not a
    folder, no genai_config.json (e.g. a Transformers.js export), a corrupt config, a missing
    model or tokenizer file.
    """
    if not path.is_dir():
        raise ModelLoadError(f"{path} is not a folder. Choose the folder that holds "
                             "genai_config.json.")
    cfg_file = path / "genai_config.json"
    if not cfg_file.is_file():
        raise ModelLoadError(
            f"{path.name} is not an ONNX Runtime GenAI model: genai_config.json is missing. "
            "Models exported for Transformers.js or plain ONNX cannot be loaded.")
    try:
        config = json.loads(cfg_file.read_text(encoding="utf-8"))
        decoder = config["model"]["decoder"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{cfg_file} is damaged or not a model configuration ({exc}).",
                             detail=repr(exc)) from exc
    if not isinstance(config, dict) or not isinstance(decoder, dict):
        raise ModelLoadError(f"{cfg_file} is not a model configuration.")
    wanted = [decoder.get("filename", "model.onnx")]
    wanted += [pipe.get("filename") for part in decoder.get("pipeline", [])
               for pipe in (part.values() if isinstance(part, dict) else [])
               if isinstance(pipe, dict)]
    missing = [name for name in wanted if name and not (path / name).is_file()]
    # tokenizer.json (Hugging Face fast tokenizers), or a SentencePiece model named by
    # tokenizer_config.json: the two forms the runtime's tokenizer reads.
    if not (path / "tokenizer.json").is_file() and not (
            (path / "tokenizer_config.json").is_file() and (path / "tokenizer.model").is_file()):
        missing.append("tokenizer.json")
    if missing:
        raise ModelLoadError(
            f"The model in {path.name} is incomplete: missing {', '.join(missing)}. "
            "Download or copy the model again.")
    return config


def _context_limit(config: dict[str, Any], cap: int | None) -> int:
    model_ctx = int(config["model"].get("context_length") or 0)
    search_max = int(config.get("search", {}).get("max_length") or 0)
    limit = min(x for x in (model_ctx, search_max) if x > 0) if (model_ctx or search_max) else 2048
    return min(limit, cap or DEFAULT_CONTEXT_CAP)


def load_model(path: str | Path, provider: str = "auto",
               context_cap: int | None = None) -> LoadedModel:
    """Load a model folder on `provider` (`auto`, `cpu`, `cuda` or `dml`).

    `auto` tries CUDA, then DirectML, then the CPU and records why each preferred provider was
    skipped. A provider named explicitly that cannot be used raises ProviderUnavailableError.
    """
    import onnxruntime_genai as og

    # No telemetry, ever (the runtime can emit ETW events on Windows).
    og.disable_telemetry_events()
    folder = Path(path).expanduser()
    config = read_model_config(folder)
    if provider != "auto" and provider not in PROVIDERS:
        raise ProviderUnavailableError(
            f"Unknown provider {provider!r}; choose auto, {', '.join(PROVIDERS)}.")
    context = _context_limit(config, context_cap)
    order = AUTO_ORDER if provider == "auto" else (provider,)
    fallbacks: list[str] = []
    started = time.perf_counter()
    for name in order:
        try:
            model = _create_model(og, folder, name, context)
        except (ProviderUnavailableError, OutOfMemoryError) as exc:
            # `auto` goes on to the next provider, also when a GPU is too small for the model;
            # out of memory on the CPU is the end of the line.
            if provider != "auto" or (name == "cpu" and isinstance(exc, OutOfMemoryError)):
                raise
            fallbacks.append(exc.user_message)
            log.info("provider %s skipped: %s", name, exc.detail)
            continue
        tokenizer = og.Tokenizer(model)
        loaded = LoadedModel(
            path=folder, name=folder.name, model_type=str(model.type), provider=name,
            context_tokens=context, load_seconds=time.perf_counter() - started,
            fallbacks=fallbacks, reply_format=reply_format(folder), model=model,
            tokenizer=tokenizer)
        _check_chat_template(loaded)
        log.info("loaded %s on %s in %.2f s (context %d)", folder, name, loaded.load_seconds,
                 context)
        return loaded
    raise ProviderUnavailableError("No execution provider could load this model: "
                                   + "; ".join(fallbacks))


def reply_format(folder: Path) -> ReplyFormat:
    """Tell from a model folder's files (never its name) how its replies carry reasoning."""
    if harmony.is_harmony_model(folder):
        return "harmony"
    if "<think>" in harmony.chat_template_text(folder):
        return "think"
    return "plain"


def _create_model(og: Any, folder: Path, provider: str, context: int) -> og.Model:
    """Create the og.Model on one provider; distinguish 'provider missing' from 'bad model'."""
    label = PROVIDER_LABELS[provider]
    try:
        cfg = og.Config(str(folder))
        cfg.clear_providers()
        if provider != "cpu":
            # Raises on a runtime build without this provider ("Cuda interface not available",
            # "not been built with DML support"). DirectML exists only in Windows builds.
            cfg.append_provider(provider)
        # The session length sizes the KV cache: cap it (see DEFAULT_CONTEXT_CAP).
        cfg.overlay(json.dumps({"search": {"max_length": context}}))
    except RuntimeError as exc:
        _raise_if_out_of_memory(exc, folder, label)
        raise ProviderUnavailableError(f"{label}: not available in this installation",
                                       detail=str(exc)) from exc
    try:
        return og.Model(cfg)
    except RuntimeError as exc:
        # Memory first: "CUDA failure 2: out of memory" names the provider too, but the cure is
        # a smaller build, not another provider.
        _raise_if_out_of_memory(exc, folder, label)
        text = str(exc)
        lowered = text.lower()
        if provider != "cpu" and ("not been built" in lowered or "not available" in lowered):
            raise ProviderUnavailableError(f"{label}: not available in this installation",
                                           detail=text) from exc
        if provider != "cpu" and any(k in lowered for k in (
                "cuda", "dml", "directml", "provider", "no device", "driver")):
            raise ProviderUnavailableError(f"{label}: could not start ({text.splitlines()[0]})",
                                           detail=text) from exc
        raise ModelLoadError(f"{folder.name} could not be loaded: {text.splitlines()[0]}",
                             detail=text) from exc


def _raise_if_out_of_memory(exc: RuntimeError, folder: Path, label: str) -> None:
    text = str(exc)
    lowered = text.lower()
    if "bad_alloc" in lowered or "out of memory" in lowered or "failed to allocate" in lowered:
        raise OutOfMemoryError(
            f"Not enough memory to load {folder.name} on {label}. Close other programs or "
            "choose a smaller model.", detail=text) from exc


def _check_chat_template(loaded: LoadedModel) -> None:
    try:
        render_prompt_text(loaded, [ChatMessage("user", "hi")])
    except RuntimeError as exc:
        raise ModelLoadError(
            f"{loaded.name} has no usable chat template: looked for chat_template.jinja and "
            f"'chat_template' in tokenizer_config.json in {loaded.path} ({exc}).",
            detail=str(exc)) from exc


def render_prompt_text(loaded: LoadedModel, messages: Sequence[ChatMessage],
                       add_generation_prompt: bool = True) -> str:
    """The prompt as text, rendered by the model's own chat template."""
    assert loaded.tokenizer is not None
    payload = json.dumps([{"role": m.role, "content": m.content} for m in messages],
                         ensure_ascii=False)
    return str(loaded.tokenizer.apply_chat_template(
        payload, add_generation_prompt=add_generation_prompt))


class PromptRenderer(Protocol):
    """Turns a conversation into prompt token ids for one model family."""

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`."""
        ...

    def render(self, messages: Sequence[ChatMessage], options: GenerationOptions | None = None,
               keep_analysis_last: int = 0) -> list[int]:
        """The conversation plus the generation prompt, as token ids."""
        ...


class TemplatePromptRenderer:
    """Renders a conversation to token ids with the model's chat template.

    Assistant messages that carry the ids the model generated are spliced in as those ids:
    the rendered prompt is then an exact extension of what the request already holds, so the
    next turn only prefills its new tokens. (For `<think>` models those ids include the
    reasoning, which their templates would drop from history: the same trade as for gpt-oss,
    see HarmonyPromptRenderer.)
    """

    def __init__(self, loaded: LoadedModel) -> None:
        self._loaded = loaded
        tok = loaded.tokenizer
        assert tok is not None
        self._tok = tok
        probe = [int(t) for t in tok.encode("a")]
        self._bos = int(tok.bos_token_id)
        # Llama-style tokenizers prepend BOS on every encode(); only the first segment keeps it.
        self._adds_bos = len(probe) >= 2 and probe[0] == self._bos
        self.last_text = ""
        """The last prompt rendered, as text (think models: did it open a <think> block?)."""

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` (no BOS handling)."""
        return [int(t) for t in self._tok.encode(text)]

    def render(self, messages: Sequence[ChatMessage], options: GenerationOptions | None = None,
               keep_analysis_last: int = 0) -> list[int]:
        """The whole conversation plus the generation prompt, as token ids."""
        spliced: list[ChatMessage] = []
        id_parts: list[tuple[int, ...]] = []
        for m in messages:
            if m.role == "assistant" and m.token_ids is not None:
                spliced.append(ChatMessage(m.role, _SPLICE.format(len(id_parts))))
                id_parts.append(m.token_ids)
            else:
                spliced.append(m)
        text = render_prompt_text(self._loaded, spliced)
        self.last_text = text
        out: list[int] = []
        for i, ids in enumerate(id_parts):
            before, text = text.split(_SPLICE.format(i), 1)
            self._extend(out, before)
            out.extend(ids)
        self._extend(out, text)
        return out

    def _extend(self, out: list[int], segment: str) -> None:
        if not segment:
            return
        ids = self.encode(segment)
        if self._adds_bos and out and ids and ids[0] == self._bos:
            ids = ids[1:]
        out.extend(ids)


class HarmonyPromptRenderer:
    """Renders a conversation in gpt-oss's harmony format (app.core.harmony) to token ids.

    The drop rule and the KV cache pull apart: the spec removes a turn's `analysis` from history
    once it has a `final` answer, but the request holds those analysis tokens, and with the
    Engine API a rewind re-reads the whole history (measured 17.7x slower at turn 10 on the CPU).
    So the engine keeps the analysis of the turns it generated since its last full render
    (`keep_analysis_last`), appending cheaply, and renders spec-exact history (every earlier
    analysis dropped) whenever it has to re-read anyway: regenerate, edit, another conversation,
    dropped turns, a new engine. The model then sees a little more of its own reasoning than
    in training; answers are unaffected in practice, and turns stay fast.
    """

    def __init__(self, loaded: LoadedModel) -> None:
        tok = loaded.tokenizer
        assert tok is not None
        self._tok = tok
        self.special_ids = harmony.harmony_special_ids(tok)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` (special tokens written out map to their single ids)."""
        return [int(t) for t in self._tok.encode(text)]

    def render(self, messages: Sequence[ChatMessage], options: GenerationOptions | None = None,
               keep_analysis_last: int = 0) -> list[int]:
        """The conversation plus `<|start|>assistant`, as token ids."""
        options = options or GenerationOptions()
        instructions, items = harmony.items_from_chat(messages)
        today = (date.fromisoformat(options.conversation_date) if options.conversation_date
                 else date.today())
        effort = options.reasoning_effort if options.reasoning_effort in \
            harmony.REASONING_LEVELS else "medium"
        segments = harmony.render_segments(
            items, reasoning=effort, today=today, instructions=instructions,
            drop_analysis=True, keep_analysis_last=keep_analysis_last)
        return harmony.encode_segments(segments, self.encode)


class _ReplyDecoder:
    """Turns generated ids into answer and reasoning text for the model's reply format."""

    def __init__(self, loaded: LoadedModel, renderer: PromptRenderer) -> None:
        tok = loaded.tokenizer
        assert tok is not None
        self._parser: harmony.ReplyParser | None = None
        if isinstance(renderer, HarmonyPromptRenderer):
            self._decode = harmony.SpecialAwareDecoder(tok, renderer.special_ids.values()).decode
            self._parser = harmony.HarmonyStreamParser(renderer.special_ids)
        else:
            self._decode = tok.create_stream().decode
            if loaded.reply_format == "think":
                opened = isinstance(renderer, TemplatePromptRenderer) and \
                    harmony.prompt_opens_think(renderer.last_text)
                self._parser = harmony.ThinkTagParser(starts_in_thinking=opened)
        self._plain: list[str] = []

    def feed(self, token: int) -> list[tuple[str, bool]]:
        """(text, is_reasoning) pieces that `token` completes."""
        text = str(self._decode(token))
        if self._parser is None:
            if text:
                self._plain.append(text)
                return [(text, False)]
            return []
        return self._pieces(self._parser.feed(token, text))

    def finish(self, stopped: bool) -> list[tuple[str, bool]]:
        """Pieces held back until the end (a partial tag or header)."""
        return self._pieces(self._parser.finish(stopped=stopped)) if self._parser else []

    @property
    def answer(self) -> str:
        """The answer text (tool calls and reasoning excluded)."""
        return self._parser.answer if self._parser else "".join(self._plain)

    @property
    def reasoning(self) -> str:
        """The reasoning text."""
        return self._parser.reasoning if self._parser else ""

    @staticmethod
    def _pieces(events: list[harmony.ParseEvent]) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        for ev in events:
            if isinstance(ev, harmony.TextDelta) and ev.text and (ev.is_answer or
                                                                  ev.is_reasoning):
                out.append((ev.text, ev.is_reasoning))
        return out


class _RequestMirror:
    """What the resident og.Request holds: its exact tokens and where each turn began."""

    def __init__(self) -> None:
        self.request: og.Request | None = None
        self.tokens: list[int] = []
        self.turns: list[tuple[int, int]] = []  # (turn id, len(tokens) when it began)
        self.broken = False


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


_FINISH = {
    "EOS": FinishReason.STOP,
    "STOP_STRING": FinishReason.STOP,
    "MAX_GENERATED_TOKENS": FinishReason.LENGTH,
    "MAX_SESSION_TOKENS": FinishReason.LENGTH,
    "CANCELLED": FinishReason.CANCELLED,
    "FAILED": FinishReason.ERROR,
}


class ChatEngine:
    """Streams replies for conversations on one loaded model; lives on one thread.

    One request stays resident and mirrors its tokens. Each turn renders the whole conversation,
    finds the longest prefix the request already holds and feeds only the rest. A changed
    history (regenerate, edit, another conversation, dropped turns) rewinds to the nearest turn
    start, which on the CPU engine re-reads everything after it: correct, but as slow as a fresh
    prompt, so the usual path is the append.
    """

    def __init__(self, loaded: LoadedModel, context_tokens: int | None = None) -> None:
        """`context_tokens` caps this engine's session below the model's (its KV cache is
        allocated for the whole session: a helper engine for short jobs stays small)."""
        import onnxruntime_genai as og

        self._og = og
        self.loaded = loaded
        self.context_tokens = min(context_tokens or loaded.context_tokens,
                                  loaded.context_tokens)
        self._engine = og.Engine(loaded.model)
        self._buffer = self._engine.create_event_buffer(64)
        self.renderer: PromptRenderer = (
            HarmonyPromptRenderer(loaded) if loaded.reply_format == "harmony"
            else TemplatePromptRenderer(loaded))
        self._mirror = _RequestMirror()
        self._drop_count = 0
        # gpt-oss: assistant turns whose analysis the request holds (HarmonyPromptRenderer).
        self._kept_turns = 0
        self._prompt_keeps = 0

    # -- public API ----------------------------------------------------------------------------
    def count_tokens(self, messages: Sequence[ChatMessage],
                     options: GenerationOptions | None = None) -> int:
        """Prompt length of `messages` in tokens, generation prompt included."""
        return len(self.renderer.render(messages, options))

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions,
               cancel: CancelToken | None = None,
               continue_from: ChatMessage | None = None) -> Iterator[StreamEvent]:
        """Generate the assistant's reply to `messages`.

        Yields TextDelta events as text becomes complete and ends with one GenerationResult.
        `continue_from` is a reply that was cut off (e.g. the app was killed): the model goes
        on from its text; the deltas are the new text, the result holds the whole reply.
        Raises ContextOverflowError when the last message alone does not fit the context.
        """
        cancel = cancel or CancelToken()
        started = time.perf_counter()
        prompt, dropped = self._fit_context(list(messages), options)
        prefix = self._continuation_ids(continue_from) if continue_from else []
        prompt = prompt + prefix
        og = self._og
        tid, cached = self._begin_turn(prompt, options)
        mirror = self._mirror

        decoder = _ReplyDecoder(self.loaded, self.renderer)
        for token in prefix:
            decoder.feed(token)  # the parser and the text stream pick up where the reply was
        generated: list[int] = []
        first_at: float | None = None
        last_at = started
        thought_at: float | None = None
        answered_at: float | None = None
        finish: Any = None
        error_code = ""
        cancel_sent = False
        try:
            while finish is None:
                if cancel.cancelled and not cancel_sent:
                    cancel_sent = True
                    assert mirror.request is not None
                    mirror.request.cancel_turn(tid)
                if not self._engine.has_pending_requests():
                    raise GenerationError("The runtime stopped without finishing the reply.")
                self._engine.run(self._buffer)
                buf = self._buffer
                for i in range(len(buf)):
                    ev = buf[i]
                    if ev.turn_id != tid:
                        continue
                    if ev.flags & og.EngineEventFlags.TOKEN:
                        token = int(ev.token)
                        last_at = time.perf_counter()
                        if first_at is None:
                            first_at = last_at
                        generated.append(token)
                        for text, is_reasoning in decoder.feed(token):
                            if is_reasoning and thought_at is None:
                                thought_at = last_at
                            if not is_reasoning and answered_at is None:
                                answered_at = last_at
                            yield TextDelta(text, len(generated), is_reasoning)
                    if ev.flags & og.EngineEventFlags.TURN_FINISHED:
                        finish = ev.finish_reason
                        if finish == og.FinishReason.FAILED:
                            error_code = str(ev.error_code)
        finally:
            # Generated tokens stay in the request, also after a cancel; record them even if
            # the consumer stopped iterating early.
            mirror.tokens.extend(generated)
            if finish is None:
                # The caller abandoned the stream mid-turn: the request is in an unknown state.
                mirror.broken = True
        reason_name = getattr(finish, "name", str(finish))
        for text, is_reasoning in decoder.finish(stopped=reason_name in ("EOS", "STOP_STRING")):
            yield TextDelta(text, len(generated), is_reasoning)
        reason = _FINISH.get(reason_name, FinishReason.ERROR)
        if reason is FinishReason.ERROR:
            mirror.broken = True
            error_code = error_code or reason_name
        # The turn just generated is in the request with its analysis (harmony: see
        # HarmonyPromptRenderer); a broken request is re-rendered in full next time.
        self._kept_turns = 0 if mirror.broken else self._prompt_keeps + 1
        n = len(generated)
        ttft = ((first_at or last_at) - started) * 1000.0
        decode_s = last_at - first_at if first_at is not None else 0.0
        tok_s = (n - 1) / decode_s if n > 1 and decode_s > 0 else 0.0
        thought_ms = ((answered_at or last_at) - thought_at) * 1000.0 if thought_at else 0.0
        yield GenerationResult(
            text=decoder.answer, token_ids=tuple(prefix + generated), finish_reason=reason,
            provider=self.loaded.provider, prompt_tokens=len(prompt), cached_tokens=cached,
            generated_tokens=n, ttft_ms=ttft, tok_s=tok_s, dropped_messages=dropped,
            context_full=reason_name == "MAX_SESSION_TOKENS",
            error=f"The runtime failed while generating ({error_code})." if error_code else "",
            reasoning=decoder.reasoning, reasoning_ms=thought_ms)

    def close(self) -> None:
        """Release the request and engine (call on the owning thread)."""
        if self._mirror.request is not None:
            self._mirror.request.close()
            self._mirror.request = None
        self._engine = None

    # -- internals -----------------------------------------------------------------------------
    def _fit_context(self, messages: list[ChatMessage],
                     options: GenerationOptions) -> tuple[list[int], int]:
        """Render the prompt, dropping the oldest turns if it would not leave room to reply.

        When dropping is needed, drop down to about half the context, not just enough: every
        drop changes the prompt's prefix and costs a full re-read, so dropping a little each
        turn would make every turn slow once the window is full.
        """
        limit = self.context_tokens
        reserve = max(1, min(options.max_new_tokens, limit // 4))
        prompt = self._render(messages, options)
        if len(prompt) + reserve <= limit:
            self._drop_count = 0
            return prompt, 0
        head = 1 if messages and messages[0].role in ("system", "developer") else 0
        body = messages[head:]
        # Keep turns whole: start the kept part at a user message.
        starts = [i for i, m in enumerate(body) if m.role == "user" and i > 0]
        candidates = [k for k in starts if k >= self._drop_count] + [
            k for k in starts if k < self._drop_count]
        target = max(limit // 2, limit - reserve - limit // 4)
        best: tuple[list[int], int] | None = None
        for k in sorted(set(candidates)):
            trial = self._render_exact(messages[:head] + body[k:], options)
            if len(trial) + reserve <= limit:
                best = (trial, k)
                if k == self._drop_count or len(trial) <= target:
                    break
        if best is None:
            last = self._render_exact(messages[:head] + body[-1:], options)
            raise ContextOverflowError(
                f"This message is too long for the model: it needs {len(last)} tokens plus room "
                f"for a reply, and the context holds {limit}. Shorten it or raise the context "
                "size in the model's settings.")
        prompt, self._drop_count = best
        log.info("dropped %d oldest messages to fit the context (%d tokens)", best[1], limit)
        return prompt, best[1]

    def _continuation_ids(self, reply: ChatMessage) -> list[int]:
        """The ids of a cut-off reply as the model would have written them after the prompt.

        Re-tokenised from the saved text (ids are only saved when a reply finishes), in the
        model's own reply format, so the model continues inside the right channel or block.
        """
        encode = self.renderer.encode
        if isinstance(self.renderer, HarmonyPromptRenderer):
            if reply.content:
                return encode(f"{harmony.CHANNEL}{harmony.FINAL}{harmony.MESSAGE}{reply.content}")
            if reply.reasoning:
                return encode(
                    f"{harmony.CHANNEL}{harmony.ANALYSIS}{harmony.MESSAGE}{reply.reasoning}")
            return []
        if self.loaded.reply_format == "think" and reply.reasoning:
            opened = isinstance(self.renderer, TemplatePromptRenderer) and \
                harmony.prompt_opens_think(self.renderer.last_text)
            text = ("" if opened else "<think>\n") + reply.reasoning
            if reply.content:
                text += "\n</think>\n\n" + reply.content
            return encode(text)
        return encode(reply.content) if reply.content else []

    def _render(self, messages: list[ChatMessage], options: GenerationOptions) -> list[int]:
        """The prompt, extending what the request holds where the format allows it.

        gpt-oss: first try keeping the analysis of the turns generated since the last full
        render (then the request only appends); if that is not an extension of the request
        anyway, render spec-exact history. See HarmonyPromptRenderer for why.
        """
        if isinstance(self.renderer, HarmonyPromptRenderer):
            spliceable = sum(1 for m in messages if m.role == "assistant" and m.token_ids)
            keep = min(self._kept_turns, spliceable)
            if keep:
                prompt = self.renderer.render(messages, options, keep)
                held = self._mirror.tokens
                if len(prompt) > len(held) and prompt[:len(held)] == held \
                        and not self._mirror.broken:
                    self._prompt_keeps = keep
                    return prompt
        return self._render_exact(messages, options)

    def _render_exact(self, messages: list[ChatMessage],
                      options: GenerationOptions) -> list[int]:
        self._prompt_keeps = 0
        return self.renderer.render(messages, options)

    def _turn_options(self, options: GenerationOptions, prompt_len: int) -> og.TurnOptions:
        opts = self._og.TurnOptions(self._mirror.request)
        room = self.context_tokens - prompt_len
        max_new = max(1, min(options.max_new_tokens, room))
        opts.set_max_generated_tokens(max_new)
        if options.min_new_tokens:
            opts.set_min_generated_tokens(min(options.min_new_tokens, max_new))
        if options.greedy:
            opts.set_do_sample(False)
        else:
            # The CPU engine rejects temperature/top-p without do_sample (measured).
            opts.set_do_sample(True)
            opts.set_temperature(float(options.temperature))
            opts.set_top_p(float(options.top_p))
            opts.set_top_k(int(options.top_k))
        return opts

    def _begin_turn(self, prompt: list[int], options: GenerationOptions) -> tuple[int, int]:
        """Sync the request to `prompt` and begin a turn; returns (turn id, reused tokens)."""
        for attempt in (1, 2):
            feed, cached = self._sync(prompt)
            mirror = self._mirror
            assert mirror.request is not None
            try:
                tid = int(mirror.request.begin_turn(
                    _as_array(feed), self._turn_options(options, len(prompt))))
            except RuntimeError as exc:
                # One Engine keeps one request's cache resident; if another request ran in
                # between, this one must start over (measured: "no longer resident").
                if attempt == 1 and "no longer resident" in str(exc):
                    mirror.broken = True
                    continue
                mirror.broken = True
                raise GenerationError(f"The model could not start this reply: {exc}",
                                      detail=str(exc)) from exc
            mirror.turns.append((tid, len(mirror.tokens)))
            mirror.tokens.extend(feed)
            return tid, cached
        raise AssertionError("unreachable")

    def _reset_request(self) -> None:
        mirror = self._mirror
        if mirror.request is not None:
            mirror.request.close()
        opts = self._og.RequestOptions()
        opts.set_max_session_tokens(self.context_tokens)
        mirror.request = self._engine.create_request(options=opts)
        mirror.tokens = []
        mirror.turns = []
        mirror.broken = False

    def _sync(self, prompt: list[int]) -> tuple[list[int], int]:
        """Bring the request to the longest reusable prefix of `prompt`; return (feed, cached)."""
        mirror = self._mirror
        if mirror.request is None or mirror.broken:
            self._reset_request()
        common = _common_prefix(mirror.tokens, prompt)
        if common == len(mirror.tokens) and common < len(prompt):
            return prompt[common:], common
        # The request holds tokens the prompt does not (or all of it: a turn needs >= 1 new
        # token): rewind to the latest turn that began inside the common prefix.
        limit = min(common, len(prompt) - 1)
        index = max(i for i, (_, start) in enumerate(mirror.turns) if start <= limit) \
            if mirror.turns else None
        if index is None:
            self._reset_request()
            return prompt, 0
        tid, start = mirror.turns[index]
        assert mirror.request is not None
        mirror.request.rewind_to_start_of_turn(tid)
        del mirror.turns[index:]
        del mirror.tokens[start:]
        # Reported as nothing reused: after a rewind the CPU engine re-reads the kept prefix
        # (measured), whatever its usage counters say.
        return prompt[start:], 0


def _as_array(tokens: Sequence[int]) -> Any:
    import numpy as np

    return np.asarray(tokens, dtype=np.int32)
