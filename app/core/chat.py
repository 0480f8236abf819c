"""Plain data for a chat: messages, generation options, and what a streamed reply reports."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Role = Literal["system", "developer", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation.

    `token_ids` holds the exact ids the model generated for an assistant message. The engine
    splices them into the next prompt instead of re-tokenising the text, because re-tokenising
    rarely reproduces the same ids and would break reuse of the KV cache.
    """

    role: Role
    content: str
    token_ids: tuple[int, ...] | None = None
    reasoning: str = ""
    """An assistant's reasoning (gpt-oss `analysis`, `<think>` text), kept apart from the answer
    in `content`."""


def with_context(context: str, content: str) -> str:
    """A user message as the model reads it: the document excerpts, then the user's text.
    The store and the worker both build it here, so a saved turn renders to the same tokens."""
    return f"{context}\n\n{content}" if context else content


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling settings for one reply (a snapshot: workers never read global settings)."""

    max_new_tokens: int = 1024
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_new_tokens: int = 0
    """Ignore end-of-text before this many tokens (benchmarks use it for equal-length replies)."""
    reasoning_effort: str = "medium"
    """gpt-oss reasoning effort: low, medium or high (other models ignore it)."""
    conversation_date: str = ""
    """ISO date the conversation began (gpt-oss puts it in the prompt); empty means today.
    A fixed date keeps the prompt's prefix, and with it the KV cache, valid past midnight."""

    @property
    def greedy(self) -> bool:
        """Temperature 0 means deterministic (greedy) decoding."""
        return self.temperature <= 0.0


class FinishReason(StrEnum):
    """Why a reply ended. Cancelled is a normal outcome, not an error."""

    STOP = "stop"
    LENGTH = "length"
    CANCELLED = "cancelled"
    ERROR = "error"


@dataclass(frozen=True)
class TextDelta:
    """New text of a streamed reply and how many tokens have been generated so far.

    `reasoning` marks the model's thinking (shown apart from the answer)."""

    text: str
    generated_tokens: int
    reasoning: bool = False


@dataclass(frozen=True)
class GenerationResult:
    """The outcome of one reply, with the figures the status line and `--json` report.

    `text` is the answer only; `reasoning` is what the model thought before it (may be empty).
    """

    text: str
    token_ids: tuple[int, ...]
    finish_reason: FinishReason
    provider: str
    prompt_tokens: int
    cached_tokens: int
    generated_tokens: int
    ttft_ms: float
    tok_s: float
    dropped_messages: int = 0
    context_full: bool = False
    error: str = ""
    reasoning: str = ""
    reasoning_ms: float = 0.0
    """How long the model thought: from its first reasoning token to its first answer token."""

    def as_message(self) -> ChatMessage:
        """The reply as an assistant message carrying its exact token ids."""
        return ChatMessage("assistant", self.text, self.token_ids, self.reasoning)


StreamEvent = TextDelta | GenerationResult


@dataclass
class CancelToken:
    """A thread-safe stop flag: the GUI sets it, the thread that owns the engine polls it."""

    _event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Ask the generation to stop at its next step."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether `cancel` was called."""
        return self._event.is_set()
