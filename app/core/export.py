"""Export conversations as Markdown (to read or share) or JSON (to keep or process).

Markdown shows the active branch, the way the conversation reads in the window. JSON keeps every
message of every branch with its parent, so nothing the user wrote is left out of a backup.
Reasoning is private scratch work and is left out unless asked for; Markdown then shows it as a
quoted "Thinking" section before the answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from app.core.store import Conversation, Message, Store

ExportFormat = Literal["md", "json"]
JSON_FORMAT = "hearth-conversations"
JSON_VERSION = 1

_ROLE_HEADINGS = {"user": "User", "assistant": "Assistant", "system": "System",
                  "developer": "Developer"}
_STATUS_NOTES = {"interrupted": "interrupted: Hearth stopped before the reply finished",
                 "cancelled": "stopped before the end", "error": "failed",
                 "streaming": "still being written"}


def iso(timestamp: float | None) -> str | None:
    """Local time with its offset, to the second (None stays None)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def conversation_markdown(conv: Conversation, branch: list[Message], *,
                          reasoning: bool = False) -> str:
    """One conversation's active branch as Markdown."""
    lines = [f"# {conv.title or 'Untitled conversation'}", ""]
    facts = [("Model", conv.model_name), ("Created", _local(conv.created_at)),
             ("Updated", _local(conv.updated_at))]
    lines += [f"- {name}: {value}" for name, value in facts if value]
    if conv.settings.system_prompt:
        lines += ["- System prompt:", "", *_quote(conv.settings.system_prompt)]
    for msg in branch:
        lines += ["", f"## {_ROLE_HEADINGS.get(msg.role, msg.role.title())}", ""]
        if reasoning and msg.reasoning.strip():
            lines += ["> **Thinking**", ">", *_quote(msg.reasoning), ""]
        lines.append(msg.content.rstrip() if msg.content.strip() else "*(no text)*")
        if msg.status in _STATUS_NOTES:
            note = _STATUS_NOTES[msg.status]
            lines += ["", f"*({note}{': ' + msg.error if msg.error else ''})*"]
    return "\n".join(lines) + "\n"


def conversation_json(conv: Conversation, messages: list[Message], branch: list[Message], *,
                      reasoning: bool = False) -> dict[str, Any]:
    """One conversation as a JSON-ready dict: every message of every branch, and the ids of the
    active branch in order."""
    return {
        "id": conv.id,
        "title": conv.title,
        "created_at": iso(conv.created_at),
        "updated_at": iso(conv.updated_at),
        "pinned": conv.pinned,
        "deleted_at": iso(conv.deleted_at),
        "model": {"name": conv.model_name, "path": conv.model_path},
        "settings": asdict(conv.settings),
        "active_branch": [m.id for m in branch],
        "messages": [_message_json(m, reasoning) for m in messages],
    }


def _message_json(msg: Message, reasoning: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": msg.id, "parent_id": msg.parent_id, "role": msg.role, "content": msg.content,
        "status": msg.status, "finish_reason": msg.finish_reason or None,
        "error": msg.error or None, "created_at": iso(msg.created_at),
        "figures": msg.figures,
    }
    if reasoning:
        out["reasoning"] = msg.reasoning
    return out


def export_conversation(store: Store, conversation_id: int, fmt: ExportFormat, *,
                        reasoning: bool = False) -> str:
    """One conversation as Markdown or JSON text."""
    conv = store.get_conversation(conversation_id)
    branch = store.path(conversation_id)
    if fmt == "md":
        return conversation_markdown(conv, branch, reasoning=reasoning)
    data = _envelope([conversation_json(conv, store.messages(conversation_id), branch,
                                        reasoning=reasoning)])
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def export_all(store: Store, fmt: ExportFormat, *, reasoning: bool = False) -> str:
    """Every conversation not in the trash, newest first, as one Markdown or JSON text."""
    ids = [entry.id for entry in store.list_conversations()]
    if fmt == "md":
        parts = [conversation_markdown(store.get_conversation(cid), store.path(cid),
                                       reasoning=reasoning) for cid in ids]
        return "\n---\n\n".join(parts)
    data = _envelope([conversation_json(store.get_conversation(cid), store.messages(cid),
                                        store.path(cid), reasoning=reasoning) for cid in ids])
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _envelope(conversations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": JSON_FORMAT, "version": JSON_VERSION,
            "exported_at": iso(datetime.now().timestamp()), "conversations": conversations}


def _local(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _quote(text: str) -> list[str]:
    return [f"> {line}".rstrip() for line in text.rstrip().splitlines()]
