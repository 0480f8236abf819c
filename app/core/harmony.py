"""The harmony chat format of gpt-oss, and streaming parsers that split replies into channels.

Rendering produces TEXT with the special tokens written out (`<|start|>`, `<|channel|>`, ...);
the caller encodes it with the model folder's own tokenizer, which maps each special token to its
single id. The `openai_harmony` package is not used: it downloads its vocabulary at run time.

How the engine uses this module (gpt-oss):

- Prompt: `render_segments(...)` returns text segments and, for assistant turns that carry the
  exact ids the model generated, those ids as tuples. `encode_segments(segments, encode)` turns
  that into the prompt ids. A spliced turn is `"<|start|>assistant"` + ids + `"<|end|>"` (or
  `"<|call|>"` after a tool call): the ids are what the model produced after the previous
  prompt's generation prompt `<|start|>assistant`, and ONNX Runtime GenAI never reports the stop
  token (`<|return|>`, `<|call|>`) that ended the turn, so the closing token is appended as text.
  `<|end|>` rather than `<|return|>` is what the spec asks history to hold, and the stop token
  was never fed through the model, so the cache still matches.
- Analysis (chain of thought) in history: the spec drops it for every message before the last
  `final` answer (`drop_analysis=True`), which changes the prefix the KV cache holds and forces a
  rewind. `keep_analysis_last=n` keeps it for the last n assistant turns, so an engine that
  counts the turns generated since its last full render can keep appending to the cache;
  `drop_analysis=False` keeps it everywhere. Turns whose analysis is kept are spliced as ids.
  The system message holds the date: pass the conversation's start date, not today's, or the
  first token of the prompt changes at midnight and the whole cache is re-read.
- Output: `HarmonyStreamParser(harmony_special_ids(tokenizer))`, fed `(token_id, text)` per
  generated token. `SpecialAwareDecoder` produces those pairs from a tokenizer stream. After the
  last token call `finish(stopped=...)`: the parser cannot see the stop token either.

Models that wrap reasoning in `<think>...</think>` use `ThinkTagParser`, which emits the same
events with the same channel names (`analysis` for reasoning, `final` for the answer).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

from app.core.chat import ChatMessage

log = logging.getLogger(__name__)

START = "<|start|>"
END = "<|end|>"
MESSAGE = "<|message|>"
CHANNEL = "<|channel|>"
CONSTRAIN = "<|constrain|>"
RETURN = "<|return|>"
CALL = "<|call|>"
GENERATION_PROMPT = START + "assistant"
"""What every gpt-oss prompt ends with; the model continues with `<|channel|>...`."""

SPECIAL_NAMES = ("start", "end", "message", "channel", "constrain", "return", "call")
"""Keys of the special-id mapping `HarmonyStreamParser` takes (`<|start|>` is "start", ...)."""

DEFAULT_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
"""The spec asks to keep this identity; a different persona belongs in the instructions."""
REASONING_LEVELS = ("low", "medium", "high")
ANALYSIS = "analysis"
COMMENTARY = "commentary"
FINAL = "final"
KNOWN_CHANNELS = (ANALYSIS, COMMENTARY, FINAL)
GPT_OSS_MODEL_TYPES = frozenset({"gpt_oss", "gptoss", "gpt-oss"})

# Any <|name|> in message text would be encoded as a special token and could end the message
# or forge a role; a zero-width space between "<" and "|" keeps it ordinary text.
_SPECIAL_LITERAL = re.compile(r"<(?=\|\w+\|>)")
_ZWSP = "\u200b"


# -- conversation data -------------------------------------------------------------------------
@dataclass(frozen=True)
class HarmonyMessage:
    """One assistant message: its channel, text, and for a tool call the recipient and format."""

    channel: str
    text: str
    recipient: str | None = None
    """`functions.get_weather` for a tool call; None for ordinary messages."""
    constrain: str | None = None
    """The argument format of a tool call, usually `json`."""

    @property
    def is_tool_call(self) -> bool:
        """Whether this message addresses a tool (it then ends with `<|call|>`)."""
        return self.recipient is not None


@dataclass(frozen=True)
class UserMessage:
    """A user's message."""

    text: str


@dataclass(frozen=True)
class AssistantTurn:
    """What the model produced after one `<|start|>assistant` generation prompt.

    `token_ids` are the exact ids generated, without the stop token the runtime does not report.
    When the turn's analysis is kept they are spliced into the next prompt instead of the
    re-rendered `messages`; otherwise the turn is rendered from `messages`.
    """

    messages: tuple[HarmonyMessage, ...]
    token_ids: tuple[int, ...] | None = None

    @property
    def closing(self) -> str:
        """The token that closes this turn in history: `<|call|>` after a tool call."""
        return CALL if self.messages and self.messages[-1].is_tool_call else END


@dataclass(frozen=True)
class ToolResult:
    """The output of a tool call, sent back to the model (`name` as in `functions.x`)."""

    name: str
    text: str


ConversationItem = UserMessage | AssistantTurn | ToolResult
Segment = str | tuple[int, ...]
"""Prompt text to encode, or exact token ids to use as they are."""


def items_from_chat(messages: Sequence[ChatMessage]) -> tuple[str | None, list[ConversationItem]]:
    """Map the app's chat messages to (developer instructions, harmony items).

    System and developer messages become the instructions; an assistant message becomes a turn
    whose only message is its content on the `final` channel, carrying its token ids.
    """
    instructions = [m.content for m in messages if m.role in ("system", "developer")]
    items: list[ConversationItem] = []
    for m in messages:
        if m.role == "user":
            items.append(UserMessage(m.content))
        elif m.role == "assistant":
            items.append(AssistantTurn((HarmonyMessage(FINAL, m.content),), m.token_ids))
    return ("\n\n".join(instructions) or None), items


# -- rendering ---------------------------------------------------------------------------------
def escape_text(text: str) -> str:
    """`text` with any `<|name|>` made ordinary text (a zero-width space after the `<`)."""
    return _SPECIAL_LITERAL.sub("<" + _ZWSP, text)


def render_system(*, reasoning: str = "medium", today: date, knowledge_cutoff: str = "2024-06",
                  identity: str = DEFAULT_IDENTITY, functions: bool = False) -> str:
    """The system message: identity, dates, reasoning effort and the valid channels.

    `functions` adds the line that sends function calls to the commentary channel; pass it when
    the developer message defines function tools.
    """
    if reasoning not in REASONING_LEVELS:
        raise ValueError(f"reasoning must be one of {', '.join(REASONING_LEVELS)}, "
                         f"not {reasoning!r}")
    body = (f"{identity}\nKnowledge cutoff: {knowledge_cutoff}\n"
            f"Current date: {today.isoformat()}\n\nReasoning: {reasoning}\n\n"
            "# Valid channels: analysis, commentary, final. "
            "Channel must be included for every message.")
    if functions:
        body += "\nCalls to these tools must go to the commentary channel: 'functions'."
    return f"{START}system{MESSAGE}{body}{END}"


def render_developer(instructions: str | None, *, tools: str | None = None) -> str:
    """The developer message, or "" when there are neither instructions nor tools.

    `tools` is the pre-rendered block that follows `# Tools`, e.g.
    `## functions\\n\\nnamespace functions {\\n...\\n} // namespace functions`.
    """
    sections = []
    if instructions and instructions.strip():
        sections.append(f"# Instructions\n\n{escape_text(instructions)}")
    if tools:
        sections.append(f"# Tools\n\n{tools}")
    if not sections:
        return ""
    return f"{START}developer{MESSAGE}{'\n\n'.join(sections)}{END}"


def render_user(text: str) -> str:
    """A user message."""
    return f"{START}user{MESSAGE}{escape_text(text)}{END}"


def render_tool_result(result: ToolResult) -> str:
    """A tool's output, addressed back to the assistant on the commentary channel."""
    return (f"{START}{result.name} to=assistant{CHANNEL}{COMMENTARY}{MESSAGE}"
            f"{escape_text(result.text)}{END}")


def render_assistant_message(message: HarmonyMessage) -> str:
    """One stored assistant message; a tool call ends with `<|call|>`, anything else `<|end|>`."""
    header = CHANNEL + message.channel
    if message.recipient:
        header += f" to={message.recipient}"
    if message.constrain:
        header += f" {CONSTRAIN}{message.constrain}"
    closing = CALL if message.is_tool_call else END
    return f"{GENERATION_PROMPT}{header}{MESSAGE}{escape_text(message.text)}{closing}"


def render_segments(items: Sequence[ConversationItem], *, reasoning: str = "medium",
                    today: date, instructions: str | None = None, tools: str | None = None,
                    knowledge_cutoff: str = "2024-06", identity: str = DEFAULT_IDENTITY,
                    drop_analysis: bool = True, keep_analysis_last: int = 0,
                    add_generation_prompt: bool = True) -> list[Segment]:
    """The prompt as text segments and spliced token ids (see the module docstring).

    Adjacent text is merged, and every id tuple sits between special tokens, so encoding the
    text segments one by one gives the same ids as encoding the whole text would.
    """
    return _render(items, reasoning=reasoning, today=today, instructions=instructions,
                   tools=tools, knowledge_cutoff=knowledge_cutoff, identity=identity,
                   drop_analysis=drop_analysis, keep_analysis_last=keep_analysis_last,
                   add_generation_prompt=add_generation_prompt, splice=True)


def render_conversation(items: Sequence[ConversationItem], *, reasoning: str = "medium",
                        today: date, instructions: str | None = None, tools: str | None = None,
                        knowledge_cutoff: str = "2024-06", identity: str = DEFAULT_IDENTITY,
                        drop_analysis: bool = True, keep_analysis_last: int = 0,
                        add_generation_prompt: bool = True) -> str:
    """The whole prompt as text, every assistant turn rendered from its messages."""
    parts = _render(items, reasoning=reasoning, today=today, instructions=instructions,
                    tools=tools, knowledge_cutoff=knowledge_cutoff, identity=identity,
                    drop_analysis=drop_analysis, keep_analysis_last=keep_analysis_last,
                    add_generation_prompt=add_generation_prompt, splice=False)
    return "".join(p for p in parts if isinstance(p, str))


def encode_segments(segments: Iterable[Segment],
                    encode: Callable[[str], Iterable[int]]) -> list[int]:
    """Prompt ids: text segments through `encode` (the model's tokenizer), id tuples as they are.

    gpt-oss tokenizers add no BOS, so segments can be encoded independently.
    """
    out: list[int] = []
    for seg in segments:
        if isinstance(seg, str):
            out.extend(int(t) for t in encode(seg))
        else:
            out.extend(seg)
    return out


def _render(items: Sequence[ConversationItem], *, reasoning: str, today: date,
            instructions: str | None, tools: str | None, knowledge_cutoff: str, identity: str,
            drop_analysis: bool, keep_analysis_last: int, add_generation_prompt: bool,
            splice: bool) -> list[Segment]:
    out = _SegmentList()
    out.add(render_system(reasoning=reasoning, today=today, knowledge_cutoff=knowledge_cutoff,
                          identity=identity, functions=bool(tools)))
    out.add(render_developer(instructions, tools=tools))
    turns = [i for i, item in enumerate(items) if isinstance(item, AssistantTurn)]
    exempt = set(turns[len(turns) - keep_analysis_last:]) if keep_analysis_last > 0 else set()
    last_final = _last_final(items)
    for i, item in enumerate(items):
        if isinstance(item, UserMessage):
            out.add(render_user(item.text))
        elif isinstance(item, ToolResult):
            out.add(render_tool_result(item))
        else:
            # Spec: drop earlier chain of thought once a later message gave the final answer;
            # what follows the last final answer (a tool-call loop in progress) keeps it.
            keeps = (not drop_analysis or i in exempt or last_final is None
                     or i > last_final[0])
            if splice and keeps and item.token_ids is not None:
                out.add(GENERATION_PROMPT)
                out.add(item.token_ids)
                out.add(item.closing)
                continue
            for j, message in enumerate(item.messages):
                if (not keeps and message.channel == ANALYSIS and last_final is not None
                        and (i, j) < last_final):
                    continue
                out.add(render_assistant_message(message))
    if add_generation_prompt:
        out.add(GENERATION_PROMPT)
    return out.segments


def _last_final(items: Sequence[ConversationItem]) -> tuple[int, int] | None:
    """(item index, message index) of the last answer on the final channel."""
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if isinstance(item, AssistantTurn):
            for j in range(len(item.messages) - 1, -1, -1):
                m = item.messages[j]
                if m.channel == FINAL and not m.is_tool_call:
                    return i, j
    return None


class _SegmentList:
    def __init__(self) -> None:
        self.segments: list[Segment] = []

    def add(self, seg: Segment) -> None:
        if isinstance(seg, str):
            if not seg:
                return
            if self.segments and isinstance(self.segments[-1], str):
                self.segments[-1] += seg
                return
        self.segments.append(seg)


# -- events --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelStarted:
    """A new message began; `recipient` is set for a tool call."""

    channel: str
    recipient: str | None = None


@dataclass(frozen=True)
class TextDelta:
    """New text of the current message (not `app.core.chat.TextDelta`, the engine's own)."""

    channel: str
    text: str
    recipient: str | None = None

    @property
    def is_reasoning(self) -> bool:
        """Chain of thought: show collapsed, never by default in exports."""
        return self.channel == ANALYSIS and self.recipient is None

    @property
    def is_answer(self) -> bool:
        """Text for the user: see `is_answer_message`."""
        return is_answer_message(self.channel, self.recipient)


@dataclass(frozen=True)
class MessageEnded:
    """The current message is complete."""

    channel: str
    recipient: str | None = None


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call (follows the MessageEnded of its message)."""

    recipient: str
    constrain: str | None
    arguments: str


StopReason = Literal["return", "call", "cut_off"]


@dataclass(frozen=True)
class Stopped:
    """The reply ended: `return` (answer done), `call` (waits for a tool) or `cut_off`."""

    reason: StopReason


ParseEvent = ChannelStarted | TextDelta | MessageEnded | ToolCall | Stopped


def is_answer_message(channel: str, recipient: str | None = None) -> bool:
    """Whether a message is shown as the answer.

    Everything but chain of thought and tool calls: `final`, commentary preambles (the spec
    says they are meant for the user) and channels the model made up, because hiding text the
    model meant for the user is worse than showing an odd label.
    """
    return recipient is None and channel != ANALYSIS


class ReplyParser(Protocol):
    """What the engine needs from `HarmonyStreamParser` and `ThinkTagParser`."""

    def feed(self, token_id: int, text: str) -> list[ParseEvent]: ...

    def finish(self, *, stopped: bool = False) -> list[ParseEvent]: ...

    @property
    def answer(self) -> str: ...

    @property
    def reasoning(self) -> str: ...

    @property
    def messages(self) -> list[HarmonyMessage]: ...


class _Accumulated:
    """The answer/reasoning views over a parser's message list."""

    @property
    def messages(self) -> list[HarmonyMessage]:
        """Every message so far, the open one included, with its exact channel (for storage)."""
        done = list(self._done)
        current = self._current()
        if current is not None:
            done.append(current)
        return done

    @property
    def answer(self) -> str:
        """The text shown as the answer (`is_answer_message`), messages joined by a blank line.

        Empty when the model only thought (cut off, or never left analysis): the UI may then
        show `reasoning` in its place.
        """
        return "\n\n".join(m.text for m in self.messages
                           if is_answer_message(m.channel, m.recipient) and m.text)

    @property
    def reasoning(self) -> str:
        """The chain of thought (`analysis` messages), joined by a blank line."""
        return "\n\n".join(m.text for m in self.messages
                           if m.channel == ANALYSIS and not m.is_tool_call and m.text)

    @property
    def stop_reason(self) -> StopReason | None:
        """Why the reply ended, once it has."""
        return self._stop

    # Set by subclasses.
    _done: list[HarmonyMessage]
    _stop: StopReason | None

    def _current(self) -> HarmonyMessage | None:
        """The message still being written, if any (the parsers that keep one override it)."""
        return None


# -- harmony stream parser -----------------------------------------------------------------------
_HEADER_MAX = 200
"""Header text longer than this is prose the model wrote without a header."""
_KNOWN_ROLES = ("assistant", "user", "system", "developer")
_TOOL_NAMESPACES = ("functions", "browser", "python", "container")
_ROLE_GIVEN_RE = re.compile(r"\s*(?:t|to|to=[\w.\-:/]*)?[ \t]*")
_ROLE_RE = re.compile(r"\s*([\w.\-]*)(?:[ \t]+(?:t|to|to=[\w.\-:/]*)?)?[ \t]*")
_CHANNEL_RE = re.compile(r"[ \t]*[\w.\-]*(?:[ \t]+(?:to=[\w.\-:/]*|[\w.+\-/]*)){0,2}[ \t]*")
_CONSTRAIN_RE = re.compile(r"[ \t]*[\w.+\-/]*[ \t]*")
_RECIPIENT_RE = re.compile(r"(?:^|\s)to=([\w.\-:/]+)")
_FIRST_WORD_RE = re.compile(r"[ \t]*([\w.\-]+)")
_HEADER_WORD_RE = re.compile(r"to=[\w.\-:/]*|[\w.+\-/]+")


@dataclass
class _Open:
    channel: str
    recipient: str | None
    constrain: str | None
    chunks: list[str] = field(default_factory=list)

    def snapshot(self) -> HarmonyMessage:
        return HarmonyMessage(self.channel, "".join(self.chunks), self.recipient, self.constrain)


def _role_word_plausible(word: str) -> bool:
    if any(name.startswith(word) for name in _KNOWN_ROLES + _TOOL_NAMESPACES):
        return True
    return "." in word and word.split(".", 1)[0] in _TOOL_NAMESPACES


def _role_word_complete(word: str) -> bool:
    if word in _KNOWN_ROLES or word in _TOOL_NAMESPACES:
        return True
    return "." in word and word.split(".", 1)[0] in _TOOL_NAMESPACES


class HarmonyStreamParser(_Accumulated):
    """Splits a streamed gpt-oss reply into channel messages and tool calls.

    Fed `(token_id, text)` per generated token: the special tokens are recognised by id (their
    text is ignored, so the decoder may skip them or not), everything else is text, which may
    split a header such as `analysis` or ` to=functions.get_weather` anywhere.

    It never raises and never drops text meant for the user:
    - Text where a header should be is held back only while it could still be a header; once
      it cannot (prose, a newline, over 200 characters) or the message ends without
      `<|message|>`, it becomes message text, on the channel its first word names
      (`<|channel|>final The answer...`) or else on `final` (a model that skips the header).
    - An unknown channel name is kept as the model wrote it; `is_answer_message` shows it.
    - `<|start|>` or `<|channel|>` inside a message end it only if a real header follows;
      a second `<|message|>` and a stray `<|constrain|>` are ignored.
    - A message cut off by the end of the stream is closed by `finish()`.
    """

    def __init__(self, special_ids: Mapping[str, int], *,
                 after_generation_prompt: bool = True) -> None:
        """`special_ids` maps each name in `SPECIAL_NAMES` to its id (`harmony_special_ids`).

        `after_generation_prompt`: the prompt ended with `<|start|>assistant`, so the stream
        begins inside a header whose role is already given (the usual case).
        """
        missing = [name for name in SPECIAL_NAMES if name not in special_ids]
        if missing:
            raise ValueError(f"special token ids missing: {', '.join(missing)}")
        self._kinds = {int(special_ids[name]): name for name in SPECIAL_NAMES}
        self._done: list[HarmonyMessage] = []
        self._stop: StopReason | None = None
        self._open: _Open | None = None
        self._suspended: _Open | None = None
        """A message interrupted by `<|start|>`/`<|channel|>`; ends only if a header follows."""
        self._parts: list[list[str]] = []
        """The header being read: [kind, text] pairs; empty outside a header."""
        self._in_header = False
        self._role_given = False
        self._finished = False
        if after_generation_prompt:
            self._begin_header(role_given=True)

    # -- public ----------------------------------------------------------------------------------
    def feed(self, token_id: int, text: str) -> list[ParseEvent]:
        """Process one generated token; returns the events it caused (often none)."""
        events: list[ParseEvent] = []
        kind = self._kinds.get(int(token_id))
        if kind is None:
            if text:
                self._on_text(text, events)
        else:
            self._on_special(kind, events)
        return events

    def finish(self, *, stopped: bool = False) -> list[ParseEvent]:
        """End of the stream: close what is open and report why it stopped.

        `stopped`: the runtime ended the turn on a stop token it did not report (ONNX Runtime
        GenAI never does); the reason is then `call` after a tool call, else `return`. Otherwise
        the reply was cut off. Calling it again returns nothing.
        """
        events: list[ParseEvent] = []
        if self._finished:
            return events
        self._finished = True
        if self._in_header:
            self._resolve_header(events, at_end=True)
        self._close_all(events)
        if self._stop is None:
            if stopped:
                last = self._done[-1] if self._done else None
                self._stop = "call" if last is not None and last.is_tool_call else "return"
            else:
                self._stop = "cut_off"
            events.append(Stopped(self._stop))
        return events

    # -- internals -------------------------------------------------------------------------------
    def _current(self) -> HarmonyMessage | None:
        current = self._open or self._suspended
        return current.snapshot() if current is not None else None

    def _on_text(self, text: str, events: list[ParseEvent]) -> None:
        self._stop = None
        if self._open is not None:
            self._append(text, events)
            return
        if not self._in_header:
            # Text between messages: read it as a header the model wrote without <|start|>.
            self._begin_header(role_given=False)
        self._parts[-1][1] += text
        if not self._header_plausible():
            self._resolve_header(events, at_end=False)

    def _on_special(self, kind: str, events: list[ParseEvent]) -> None:
        if kind in ("start", "channel"):
            self._stop = None
            if self._in_header:
                if kind == "channel":
                    self._parts.append(["channel", ""])
                    return
                self._resolve_header(events, at_end=True)
            self._suspend()
            self._begin_header(role_given=kind == "channel")
            if kind == "channel":
                self._parts.append(["channel", ""])
        elif kind == "constrain":
            if self._in_header:
                self._parts.append(["constrain", ""])
        elif kind == "message":
            if self._in_header:
                self._confirm_header(events)
            elif self._open is None:
                self._stop = None
                self._start(FINAL, None, None, events)
        else:
            if self._in_header:
                self._resolve_header(events, at_end=True)
            self._close_all(events)
            if kind in ("return", "call"):
                self._stop = "return" if kind == "return" else "call"
                events.append(Stopped(self._stop))

    def _begin_header(self, *, role_given: bool) -> None:
        self._in_header = True
        self._role_given = role_given
        self._parts = [["role", ""]]

    def _suspend(self) -> None:
        if self._open is not None:
            self._suspended, self._open = self._open, None

    def _header_plausible(self) -> bool:
        if sum(len(text) for _, text in self._parts) > _HEADER_MAX:
            return False
        for kind, text in self._parts:
            if kind == "role":
                # Just a recipient (the prompt gave the role), or a role and a recipient.
                ok = _ROLE_GIVEN_RE.fullmatch(text) is not None
                if not ok and not self._role_given:
                    m = _ROLE_RE.fullmatch(text)
                    ok = m is not None and _role_word_plausible(m.group(1))
            elif kind == "channel":
                ok = _CHANNEL_RE.fullmatch(text) is not None
            else:
                ok = _CONSTRAIN_RE.fullmatch(text) is not None
            if not ok:
                return False
        return True

    def _confirm_header(self, events: list[ParseEvent]) -> None:
        texts = [text for _, text in self._parts]
        channels = [text for kind, text in self._parts if kind == "channel"]
        constrains = [text for kind, text in self._parts if kind == "constrain"]
        recipient = next((m.group(1) for t in texts if (m := _RECIPIENT_RE.search(t))), None)
        words = [w for w in (channels[-1].split() if channels else []) if not w.startswith("to=")]
        channel = words[0] if words else (COMMENTARY if recipient else FINAL)
        constrain: str | None
        if constrains:
            constrain = constrains[-1].strip() or None
        else:
            # The HF chat template writes "commentary json" without <|constrain|>.
            constrain = words[1] if len(words) > 1 else None
        self._end_header()
        if self._suspended is not None:
            self._close(self._suspended, events)
            self._suspended = None
        self._start(channel, recipient, constrain, events)

    def _resolve_header(self, events: list[ParseEvent], *, at_end: bool) -> None:
        """The header was not one: its text becomes message text (or nothing, if header-like)."""
        channel, content = self._header_as_text(at_end=at_end)
        self._end_header()
        if at_end and not content.strip():
            if self._suspended is not None:
                self._close(self._suspended, events)
                self._suspended = None
            return
        suspended, self._suspended = self._suspended, None
        if suspended is not None and (channel is None or (
                channel == suspended.channel and suspended.recipient is None)):
            self._open = suspended
        else:
            if suspended is not None:
                self._close(suspended, events)
            self._start(channel or FINAL, None, None, events)
        if content:
            self._append(content, events)

    def _header_as_text(self, *, at_end: bool) -> tuple[str | None, str]:
        parts = self._parts
        for index, (kind, text) in enumerate(parts):
            if kind != "channel":
                continue
            m = _FIRST_WORD_RE.match(text)
            if m is not None and m.group(1) in KNOWN_CHANNELS:
                rest = text[m.end():]
                if rest[:1] in (" ", "\t"):
                    rest = rest[1:]
                rest += "".join(t for _, t in parts[index + 1:])
                # A tool-call header cut short is not text: "commentary to=f <|constrain|>js".
                tool_header = any(k == "constrain" or "to=" in t for k, t in parts)
                header_only = (at_end and tool_header and "\n" not in rest
                               and all(_HEADER_WORD_RE.fullmatch(w) for w in rest.split()))
                return m.group(1), "" if header_only else rest
            if at_end and m is not None and text[m.end():].strip() == "" and any(
                    name.startswith(m.group(1)) for name in KNOWN_CHANNELS):
                return None, ""  # a channel name cut off by the end of the stream
            break
        texts = [text for _, text in parts]
        if parts and parts[0][0] == "role" and self._role_consumed(parts[0][1]):
            texts = texts[1:]
        return None, "".join(texts)

    def _role_consumed(self, text: str) -> bool:
        if _ROLE_GIVEN_RE.fullmatch(text) is not None:
            return True
        m = _ROLE_RE.fullmatch(text)
        return not self._role_given and m is not None and _role_word_complete(m.group(1))

    def _end_header(self) -> None:
        self._in_header = False
        self._parts = []

    def _start(self, channel: str, recipient: str | None, constrain: str | None,
               events: list[ParseEvent]) -> None:
        self._open = _Open(channel, recipient, constrain)
        events.append(ChannelStarted(channel, recipient))

    def _append(self, text: str, events: list[ParseEvent]) -> None:
        assert self._open is not None
        self._open.chunks.append(text)
        events.append(TextDelta(self._open.channel, text, self._open.recipient))

    def _close(self, message: _Open, events: list[ParseEvent]) -> None:
        done = message.snapshot()
        self._done.append(done)
        events.append(MessageEnded(done.channel, done.recipient))
        if done.recipient is not None:
            events.append(ToolCall(done.recipient, done.constrain, done.text))

    def _close_all(self, events: list[ParseEvent]) -> None:
        suspended, current = self._suspended, self._open
        self._suspended = self._open = None
        for message in (suspended, current):
            if message is not None:
                self._close(message, events)


# -- <think> tag parser --------------------------------------------------------------------------
class ThinkTagParser(_Accumulated):
    """Splits a reply into reasoning and answer for models that write `<think>...</think>`.

    Emits the same events as `HarmonyStreamParser`, reasoning on `analysis` and the answer on
    `final`. Tags split across pieces (`<th` + `ink>`) are recognised: text that could be the
    start of a tag is held back until it is decided. Whitespace at either end of a reasoning or
    answer block is dropped (templates put newlines around the tags). A `<think>` while already
    thinking and a `</think>` while not are dropped.

    `starts_in_thinking`: the prompt already opened the block (DeepSeek-R1 distills, Qwen3
    templates that end with `<think>\\n`); `prompt_opens_think` tells from the prompt text.
    """

    def __init__(self, *, starts_in_thinking: bool = False, open_tag: str = "<think>",
                 close_tag: str = "</think>") -> None:
        self._tags = (open_tag, close_tag)
        self._thinking = starts_in_thinking
        self._pending = ""
        self._held_space = ""
        self._open: _Open | None = None
        self._done: list[HarmonyMessage] = []
        self._stop: StopReason | None = None
        self._finished = False

    def feed(self, token_id: int, text: str) -> list[ParseEvent]:
        """Process one token's text (the id is not needed)."""
        del token_id
        events: list[ParseEvent] = []
        if not text:
            return events
        self._stop = None
        buf = self._pending + text
        self._pending = ""
        open_tag, close_tag = self._tags
        while buf:
            at_open, at_close = buf.find(open_tag), buf.find(close_tag)
            hits = [(pos, tag) for pos, tag in ((at_open, open_tag), (at_close, close_tag))
                    if pos >= 0]
            if not hits:
                keep = self._partial_tag_length(buf)
                self._emit(buf[:len(buf) - keep], events)
                self._pending = buf[len(buf) - keep:]
                break
            pos, tag = min(hits)
            self._emit(buf[:pos], events)
            buf = buf[pos + len(tag):]
            thinking = tag == open_tag
            if thinking != self._thinking:
                self._end_block(events)
                self._thinking = thinking
        return events

    def finish(self, *, stopped: bool = False) -> list[ParseEvent]:
        """End of the stream: flush held text, close the block, report `return` or `cut_off`."""
        events: list[ParseEvent] = []
        if self._finished:
            return events
        self._finished = True
        pending, self._pending = self._pending, ""
        self._emit(pending, events)
        self._end_block(events)
        if self._stop is None:
            self._stop = "return" if stopped else "cut_off"
            events.append(Stopped(self._stop))
        return events

    def _current(self) -> HarmonyMessage | None:
        return self._open.snapshot() if self._open is not None else None

    def _partial_tag_length(self, buf: str) -> int:
        """Length of the longest end of `buf` that begins a tag."""
        longest = 0
        for tag in self._tags:
            for n in range(min(len(tag) - 1, len(buf)), longest, -1):
                if buf.endswith(tag[:n]):
                    longest = n
                    break
        return longest

    def _emit(self, text: str, events: list[ParseEvent]) -> None:
        if not text:
            return
        if self._open is None:
            text = text.lstrip()
            if not text:
                return
            self._open = _Open(ANALYSIS if self._thinking else FINAL, None, None)
            events.append(ChannelStarted(self._open.channel))
        body = text.rstrip()
        if not body:
            self._held_space += text
            return
        out = self._held_space + body
        self._held_space = text[len(body):]
        self._open.chunks.append(out)
        events.append(TextDelta(self._open.channel, out))

    def _end_block(self, events: list[ParseEvent]) -> None:
        self._held_space = ""
        if self._open is not None:
            done = self._open.snapshot()
            self._open = None
            self._done.append(done)
            events.append(MessageEnded(done.channel))


def prompt_opens_think(prompt: str, open_tag: str = "<think>") -> bool:
    """Whether a rendered prompt ends inside a reasoning block (set `starts_in_thinking`)."""
    text = prompt.rstrip()
    return text.endswith(open_tag)


# -- tokenizer glue ------------------------------------------------------------------------------
class _TokenIdLookup(Protocol):
    def to_token_id(self, text: str) -> int: ...


class _TokenStream(Protocol):
    def decode(self, token: int) -> str: ...


class _StreamFactory(Protocol):
    def create_stream(self) -> Any: ...


def harmony_special_ids(tokenizer: _TokenIdLookup) -> dict[str, int]:
    """The ids of the harmony special tokens (`onnxruntime_genai.Tokenizer.to_token_id`).

    Raises ValueError if one is missing (the runtime answers -1): not a harmony tokenizer.
    """
    ids = {name: int(tokenizer.to_token_id(f"<|{name}|>")) for name in SPECIAL_NAMES}
    missing = [f"<|{name}|>" for name, value in ids.items() if value < 0]
    if missing:
        raise ValueError(f"the tokenizer has no {', '.join(missing)} token")
    return ids


class SpecialAwareDecoder:
    """Decodes generated ids one at a time into the text the parsers take.

    Wraps an `onnxruntime_genai` tokenizer stream with its default options (special tokens
    skipped). Special ids never reach the stream: they return "" and start a fresh stream,
    because in 0.18 a special token after the first bytes of an unfinished UTF-8 character
    leaves the stream unable to decode the following text (measured: an emoji after it came
    out as nothing). The unfinished bytes were not text anyway.
    """

    def __init__(self, tokenizer: _StreamFactory, special_ids: Iterable[int]) -> None:
        self._tokenizer = tokenizer
        self._specials = frozenset(int(t) for t in special_ids)
        self._stream: _TokenStream = tokenizer.create_stream()

    def decode(self, token_id: int) -> str:
        """The text `token_id` completes ("" for special ids and unfinished characters)."""
        if int(token_id) in self._specials:
            self._stream = self._tokenizer.create_stream()
            return ""
        return str(self._stream.decode(int(token_id)))


# -- detection -----------------------------------------------------------------------------------
_HARMONY_TOKENS = frozenset({START, END, MESSAGE, CHANNEL})


def is_harmony_model(model_dir: Path) -> bool:
    """Whether a model folder speaks harmony (gpt-oss), from its files, not its name.

    Needs the harmony special tokens in the tokenizer, and either a gpt-oss model type in
    genai_config.json or a chat template that writes `<|channel|>`.
    """
    if not _tokenizer_specials(model_dir) >= _HARMONY_TOKENS:
        return False
    config = _read_json(model_dir / "genai_config.json")
    model = config.get("model") if isinstance(config, dict) else None
    model_type = str(model.get("type", "")).lower() if isinstance(model, dict) else ""
    return model_type in GPT_OSS_MODEL_TYPES or CHANNEL in chat_template_text(model_dir)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.debug("cannot read %s: %s", path, exc)
        return None


def _tokenizer_specials(model_dir: Path) -> set[str]:
    found: set[str] = set()
    # tokenizer_config.json is small; tokenizer.json of a real model is tens of megabytes.
    config = _read_json(model_dir / "tokenizer_config.json")
    decoder = config.get("added_tokens_decoder") if isinstance(config, dict) else None
    if isinstance(decoder, dict):
        found |= {str(t.get("content")) for t in decoder.values() if isinstance(t, dict)}
    if found >= _HARMONY_TOKENS:
        return found
    tokenizer = _read_json(model_dir / "tokenizer.json")
    added = tokenizer.get("added_tokens") if isinstance(tokenizer, dict) else None
    if isinstance(added, list):
        found |= {str(t.get("content")) for t in added if isinstance(t, dict)}
    return found


def chat_template_text(model_dir: Path) -> str:
    """The chat template the runtime uses: tokenizer_config.json's, else chat_template.jinja.

    ONNX Runtime GenAI 0.18 prefers the one in tokenizer_config.json when both exist (seen with
    the test fixtures, which carry both).
    """
    config = _read_json(model_dir / "tokenizer_config.json")
    template = config.get("chat_template") if isinstance(config, dict) else None
    if isinstance(template, str) and template:
        return template
    try:
        return (model_dir / "chat_template.jinja").read_text(encoding="utf-8")
    except OSError:
        return ""
