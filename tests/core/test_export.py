"""Markdown and JSON export of stored conversations, with and without reasoning."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from app.core.chat import FinishReason, GenerationResult
from app.core.export import JSON_FORMAT, export_all, export_conversation
from app.core.paths import AppPaths
from app.core.store import STORE_FILE, ConversationSettings, Store


def result(text: str, reasoning: str = "", reason: FinishReason = FinishReason.STOP,
           ) -> GenerationResult:
    return GenerationResult(text=text, token_ids=(1, 2), finish_reason=reason, provider="cpu",
                            prompt_tokens=10, cached_tokens=0, generated_tokens=2, ttft_ms=3.0,
                            tok_s=50.0, reasoning=reasoning)


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data / STORE_FILE) as s:
        yield s


@pytest.fixture
def conv_id(store: Store) -> int:
    conv = store.create_conversation(
        model_name="gpt-oss-20b", first_message="東京の人口は?",
        settings=ConversationSettings(system_prompt="Answer briefly.\nIn Japanese."))
    store.finish_reply(store.begin_reply(conv.id),
                       result("約1400万人です。", reasoning="Population of Tokyo.\nAbout 14M."))
    question = store.add_message(conv.id, "user", "And Osaka?")
    store.finish_reply(store.begin_reply(conv.id), result("About 2.7 million."))
    # An edited branch that is not shown: JSON keeps it, Markdown follows the active branch.
    store.edit_message(question.id, "And Kyoto?")
    store.switch_branch(question.id)
    return conv.id


def test_markdown_without_reasoning(store: Store, conv_id: int) -> None:
    md = export_conversation(store, conv_id, "md")
    assert md.startswith("# 東京の人口は?\n")
    assert "- Model: gpt-oss-20b" in md
    assert "> Answer briefly.\n> In Japanese." in md
    assert md.index("## User\n\n東京の人口は?") < md.index("## Assistant\n\n約1400万人です。")
    assert "About 2.7 million." in md
    assert "Kyoto" not in md
    assert "Thinking" not in md
    assert "Population of Tokyo" not in md


def test_markdown_with_reasoning_as_quoted_thinking(store: Store, conv_id: int) -> None:
    md = export_conversation(store, conv_id, "md", reasoning=True)
    assert ("## Assistant\n\n> **Thinking**\n>\n> Population of Tokyo.\n> About 14M.\n\n"
            "約1400万人です。") in md
    # A reply without reasoning gets no empty Thinking section.
    assert md.count("**Thinking**") == 1


def test_json_keeps_every_branch_and_omits_reasoning_by_default(store: Store,
                                                                 conv_id: int) -> None:
    data = json.loads(export_conversation(store, conv_id, "json"))
    assert data["format"] == JSON_FORMAT
    [conv] = data["conversations"]
    assert conv["title"] == "東京の人口は?"
    assert conv["settings"]["system_prompt"] == "Answer briefly.\nIn Japanese."
    assert conv["model"]["name"] == "gpt-oss-20b"
    contents = [m["content"] for m in conv["messages"]]
    assert "And Kyoto?" in contents
    by_id = {m["id"]: m for m in conv["messages"]}
    assert [by_id[i]["content"] for i in conv["active_branch"]] == [
        "東京の人口は?", "約1400万人です。", "And Osaka?", "About 2.7 million."]
    assert all("reasoning" not in m for m in conv["messages"])
    assert by_id[conv["active_branch"][1]]["figures"]["tok_s"] == 50.0
    assert conv["created_at"].count(":") >= 2  # ISO 8601 with the offset


def test_json_with_reasoning(store: Store, conv_id: int) -> None:
    data = json.loads(export_conversation(store, conv_id, "json", reasoning=True))
    reasoning = [m["reasoning"] for m in data["conversations"][0]["messages"]]
    assert "Population of Tokyo.\nAbout 14M." in reasoning


def test_export_all_skips_the_trash(store: Store, conv_id: int) -> None:
    other = store.create_conversation(first_message="Second one")
    gone = store.create_conversation(first_message="Deleted one")
    store.delete(gone.id)
    md = export_all(store, "md")
    assert md.index("# Second one") < md.index("# 東京の人口は?")  # newest first
    assert "\n---\n" in md
    assert "Deleted one" not in md
    data = json.loads(export_all(store, "json"))
    assert [c["id"] for c in data["conversations"]] == [other.id, conv_id]


def test_markdown_marks_unfinished_replies(store: Store) -> None:
    conv = store.create_conversation(first_message="Go on")
    rid = store.begin_reply(conv.id)
    store.update_reply(rid, "Half a")
    store.finish_reply(rid, result("Half an answer", reason=FinishReason.CANCELLED))
    md = export_conversation(store, conv.id, "md")
    assert "Half an answer\n\n*(stopped before the end)*" in md


def test_export_of_empty_store(store: Store) -> None:
    assert export_all(store, "md") == ""
    assert json.loads(export_all(store, "json"))["conversations"] == []
