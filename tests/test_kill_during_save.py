"""Kill -9 `hearth generate --save` while its reply streams into the store, again and again.

Each round starts a real process, waits until the reply's first text is in the database (read
through a separate read-only connection), kills it after a small random delay and reopens the
store: the file must pass `PRAGMA integrity_check`, every earlier message must be unchanged, and
the reply must be either complete (the kill came late) or present and marked interrupted. Some
rounds kill without waiting, to catch the process before or while it creates the conversation.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.core.chat import FinishReason, GenerationResult
from app.core.store import STORE_FILE, Store
from tests.conftest import TINY_LLAMA

ROUNDS = 30
PROMPT = "Tell me a very long story about a lighthouse keeper."
Row = tuple[Any, ...]


def hearth_args(data: Path) -> list[str]:
    return [sys.executable, "-m", "app", "--data-dir", str(data), "generate", "--model",
            str(TINY_LLAMA), "--provider", "cpu", "--save", "--max-tokens", "400", "--json",
            "--prompt", PROMPT]


def snapshot(db: Path) -> dict[str, Row]:
    """Every row the store holds, keyed by table and id (owner_pid is bookkeeping)."""
    with sqlite3.connect(db) as conn:
        rows = {f"c{r[0]}": r for r in conn.execute("SELECT * FROM conversations")}
        rows |= {f"m{r[0]}": r for r in conn.execute(
            "SELECT id, conversation_id, parent_id, role, content, reasoning, token_ids, "
            "status, finish_reason, error, figures, created_at FROM messages")}
    return rows


def seed(db: Path) -> None:
    """Earlier history: finished replies, a branch, Japanese text, a pinned conversation."""
    with Store.open(db) as store:
        for n, (question, answer) in enumerate([
                ("What is WAL?", "Write-ahead logging keeps commits atomic."),
                ("東京の設定を教えて", "設定は右上の歯車からです。"),
                ("Summarise this", "A summary.")]):
            conv = store.create_conversation(first_message=question, model_name="seed")
            rid = store.begin_reply(conv.id)
            store.update_reply(rid, answer[:5])
            store.finish_reply(rid, GenerationResult(
                answer, (1, 2, 3), FinishReason.STOP, "cpu", 10, 0, 3, 1.0, 100.0))
            if n == 1:
                store.edit_message(store.path(conv.id)[0].id, "大阪の設定は?")
                store.set_pinned(conv.id, True)


def wait_for_streaming_text(reader: sqlite3.Connection, after_id: int,
                            proc: subprocess.Popen[bytes], deadline: float) -> bool:
    """Poll until a reply newer than `after_id` is streaming with some text in the file."""
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            row = reader.execute(
                "SELECT 1 FROM messages WHERE id > ? AND role = 'assistant' AND "
                "status = 'streaming' AND content != ''", (after_id,)).fetchone()
        except sqlite3.OperationalError:  # busy for a moment: poll again
            row = None
        if row:
            return True
        time.sleep(0.001)
    return False


@pytest.mark.slow
def test_kill_during_save_keeps_history_and_marks_the_reply_interrupted(tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(20250310)
    data = tmp_path / "データ"
    db = data / STORE_FILE
    seed(db)

    # The full reply, for comparing partial ones (temperature 0 is deterministic).
    subprocess.run(hearth_args(data), capture_output=True, timeout=60, check=True)
    with Store.open(db) as store:
        reference = store.path(max(e.id for e in store.list_conversations()))[-1].content
    assert len(reference) > 200

    expected = snapshot(db)
    reader = sqlite3.connect(db.as_uri() + "?mode=ro", uri=True, timeout=0.05)
    outcomes: Counter[str] = Counter()
    try:
        for n in range(ROUNDS):
            last_id = max(int(k[1:]) for k in expected if k.startswith("m"))
            proc = subprocess.Popen(hearth_args(data), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            if n % 6 == 5:
                # Without waiting: anywhere from start-up to the end of the reply.
                time.sleep(rng.uniform(0.0, 0.6))
            else:
                assert wait_for_streaming_text(reader, last_id, proc, time.monotonic() + 30)
                time.sleep(rng.uniform(0.0, 0.04))
            proc.kill()
            proc.wait(timeout=30)

            with Store.open(db) as store:
                assert store.integrity_check() == []
            now = snapshot(db)
            for key, row in expected.items():
                assert now[key] == row, f"round {n}: {key} changed"
            new = {k: r for k, r in now.items() if k not in expected}
            outcomes[classify(new, reference, n)] += 1
            expected = now
    finally:
        reader.close()
    elapsed = time.monotonic() - started
    print(f"\nkill -9 rounds: {ROUNDS}, outcomes {dict(outcomes)}, {elapsed:.1f} s")
    # Most rounds must land while the reply streams, or the test proves little.
    assert outcomes["mid-stream"] >= ROUNDS // 3, outcomes


def classify(new: dict[str, Row], reference: str, n: int) -> str:
    """Check what one killed process left and say when the kill landed."""
    convs = [r for k, r in new.items() if k.startswith("c")]
    msgs = sorted((r for k, r in new.items() if k.startswith("m")), key=lambda r: r[0])
    if not convs:
        assert not msgs
        return "before-save"
    assert len(convs) == 1, f"round {n}: one conversation per process"
    assert convs[0][1] == PROMPT[:48].rsplit(" ", 1)[0] + "…"  # its title
    user, *rest = msgs
    assert (user[3], user[4], user[7]) == ("user", PROMPT, "complete"), f"round {n}"
    if not rest:
        return "before-reply"
    [reply] = rest
    _, _, parent, role, content, _, tokens, status, finish, *_ = reply
    assert (parent, role) == (user[0], "assistant")
    assert status != "streaming", f"round {n}: left streaming after reopen"
    if status == "complete":
        assert content == reference
        assert finish == "length"
        assert tokens is not None
        return "after-finish"
    assert status == "interrupted", f"round {n}: {status}"
    assert reference.startswith(content), f"round {n}: partial text is not a prefix"
    assert tokens is None
    return "mid-stream" if content else "before-text"

