"""The conversation store on real SQLite files: CRUD, branches, search, streaming saves,
bad files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.core import store as store_module
from app.core.chat import ChatMessage, FinishReason, GenerationOptions, GenerationResult
from app.core.errors import StorageError
from app.core.paths import AppPaths
from app.core.store import (
    GROUP_7_DAYS,
    GROUP_30_DAYS,
    GROUP_PINNED,
    GROUP_TODAY,
    GROUP_YESTERDAY,
    MIGRATIONS,
    SCHEMA_VERSION,
    STORE_FILE,
    ConversationSettings,
    Store,
    group_label,
    make_title,
    pack_tokens,
    unpack_tokens,
)

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """A settable clock for timestamps and for the streaming-write throttle."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def result(text: str, reason: FinishReason = FinishReason.STOP, *, reasoning: str = "",
           tokens: tuple[int, ...] = (5, 6, 7), error: str = "") -> GenerationResult:
    return GenerationResult(
        text=text, token_ids=tokens, finish_reason=reason, provider="cpu", prompt_tokens=12,
        cached_tokens=3, generated_tokens=len(tokens), ttft_ms=4.5, tok_s=99.0,
        reasoning=reasoning, error=error)


@pytest.fixture
def db_path(app_paths: AppPaths) -> Path:
    return app_paths.data / STORE_FILE


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store.open(db_path)
    yield s
    s.close()


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as db:
        return db.execute(f"PRAGMA {name}").fetchone()[0]


# --- Opening and the file ---------------------------------------------------------------------

def test_for_paths_creates_the_file_with_wal_and_current_schema(app_paths: AppPaths) -> None:
    with Store.for_paths(app_paths) as s:
        assert s.file == app_paths.data / STORE_FILE
        assert s.schema_version() == SCHEMA_VERSION
        assert s.notices == []
        assert s._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert pragma(app_paths.data / STORE_FILE, "journal_mode") == "wal"


def test_japanese_data_folder(tmp_path: Path) -> None:
    path = tmp_path / "ユーザー" / "データ" / STORE_FILE
    with Store.open(path) as s:
        conv = s.create_conversation(first_message="こんにちは")
    with Store.open(path) as s:
        assert s.get_conversation(conv.id).title == "こんにちは"
        assert s.integrity_check() == []


def test_migrates_from_version_0_to_current(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    sqlite3.connect(db_path).close()  # an empty SQLite file is version 0
    assert pragma(db_path, "user_version") == 0
    with Store.open(db_path) as s:
        assert s.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
        names = {r[0] for r in s._db.execute("SELECT name FROM sqlite_master")}
    assert {"conversations", "messages", "attachments", "search_index"} <= names


def test_migration_to_v2_indexes_existing_messages(db_path: Path) -> None:
    # A version-1 file (tables, no search index) holding a conversation.
    db_path.parent.mkdir(parents=True)
    db = sqlite3.connect(db_path, isolation_level=None)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO conversations (id, title, created_at, updated_at) "
               "VALUES (1, 'Trip plans', 1, 1)")
    db.execute("INSERT INTO messages (id, conversation_id, role, content, created_at) "
               "VALUES (1, 1, 'user', '東京で設定を変える', 1)")
    db.execute("UPDATE conversations SET active_leaf_id = 1")
    db.close()
    with Store.open(db_path) as s:
        assert s.schema_version() == SCHEMA_VERSION
        assert [h.message_id for h in s.search("設定")] == [1]
        assert [h.conversation_id for h in s.search("trip")] == [1]
        assert s.path(1)[0].content == "東京で設定を変える"


def test_failed_migration_rolls_back(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store_module, "MIGRATIONS", [MIGRATIONS[0], broken])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    with pytest.raises(StorageError):
        Store.open(db_path)
    assert pragma(db_path, "user_version") == 1
    with sqlite3.connect(db_path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables


def test_newer_schema_is_refused_and_left_untouched(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.create_conversation(first_message="keep me")
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = db_path.read_bytes()
    with pytest.raises(StorageError, match="newer version of Hearth") as info:
        Store.open(db_path)
    assert f"format {SCHEMA_VERSION + 5}" in info.value.user_message
    assert "left untouched" in info.value.user_message
    assert db_path.read_bytes() == before
    assert not list(db_path.parent.glob("*.corrupt-*"))


def test_garbage_file_is_moved_aside_and_a_new_history_started(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    garbage = os.urandom(3000) + b"not a database"
    db_path.write_bytes(garbage)
    with Store.open(db_path) as s:
        backups = list(db_path.parent.glob(f"{STORE_FILE}.corrupt-*"))
        assert len(backups) == 1
        assert backups[0].read_bytes() == garbage  # kept byte for byte, never deleted
        assert len(s.notices) == 1
        assert str(backups[0]) in s.notices[0]
        assert "damaged" in s.notices[0]
        assert s.list_conversations() == []
        s.create_conversation(first_message="fresh start")
    with Store.open(db_path) as s:
        assert s.notices == []
        assert [e.title for e in s.list_conversations()] == ["fresh start"]


def test_damaged_schema_behind_a_valid_header_is_moved_aside(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.create_conversation(first_message="soon unreadable")
    for side in db_path.parent.glob(f"{STORE_FILE}-*"):
        side.unlink()
    raw = bytearray(db_path.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # page 1 past the header: the schema
    db_path.write_bytes(bytes(raw))
    with Store.open(db_path) as s:
        assert "damaged" in s.notices[0]
        assert s.list_conversations() == []
    [backup] = db_path.parent.glob(f"{STORE_FILE}.corrupt-*")
    assert backup.read_bytes() == bytes(raw)


def test_second_garbage_file_gets_its_own_backup(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    for n in range(2):
        db_path.write_bytes(b"x" * 2048 + bytes([n]))
        Store.open(db_path).close()
    backups = sorted(db_path.parent.glob(f"{STORE_FILE}.corrupt-*"))
    assert len(backups) == 2
    assert {b.read_bytes()[-1] for b in backups} == {0, 1}


def test_data_folder_that_is_a_file_is_a_storage_error(tmp_path: Path) -> None:
    # Simulates an unwritable data folder in a way root cannot bypass (chmod would not stop it).
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StorageError, match="cannot write its conversation history"):
        Store.open(blocker / "data" / STORE_FILE)
    assert blocker.read_text() == "a file where the data folder should be"


def test_database_path_that_is_a_folder_is_a_storage_error(db_path: Path) -> None:
    db_path.mkdir(parents=True)
    with pytest.raises(StorageError, match="cannot be opened"):
        Store.open(db_path)
    assert db_path.is_dir()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root ignores file permissions; Windows has no read-only folders")
def test_read_only_file_and_folder_is_a_storage_error(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.create_conversation(first_message="hello")
    for side in db_path.parent.glob(f"{STORE_FILE}-*"):
        side.unlink()
    db_path.chmod(0o444)
    db_path.parent.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="read-only"):
            Store.open(db_path)
    finally:
        db_path.parent.chmod(0o755)
        db_path.chmod(0o644)


def test_full_disk_is_a_storage_error_and_keeps_earlier_data(store: Store) -> None:
    conv = store.create_conversation(first_message="before the disk filled up")
    # SQLite reports a capped file exactly as a full disk (SQLITE_FULL): a faithful stand-in.
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(StorageError, match="disk is full"):
        store.add_message(conv.id, "user", "x" * 200_000)
    store._db.execute("PRAGMA max_page_count = 1000000")
    assert [m.content for m in store.path(conv.id)] == ["before the disk filled up"]
    assert store.integrity_check() == []


def test_integrity_check_reports_ok_as_empty(store: Store) -> None:
    store.create_conversation(first_message="hi")
    assert store.integrity_check() == []


# --- Conversations ------------------------------------------------------------------------------

def test_create_with_first_message_sets_title_settings_and_date(db_path: Path) -> None:
    clock = FakeClock(datetime(2025, 3, 10, 9, 30).timestamp())
    options = GenerationOptions(max_new_tokens=300, temperature=0.2, top_p=0.9, top_k=20,
                                reasoning_effort="high")
    with Store.open(db_path, clock=clock) as s:
        conv = s.create_conversation(
            model_name="phi-4", model_path="/models/phi-4", first_message="Plan   a trip\nto Kyoto",
            settings=ConversationSettings.from_options(options, "Be brief"))
        assert conv.title == "Plan a trip to Kyoto"
        assert conv.settings.system_prompt == "Be brief"
        assert conv.settings.conversation_date == "2025-03-10"
        assert conv.settings.to_options() == GenerationOptions(
            max_new_tokens=300, temperature=0.2, top_p=0.9, top_k=20, reasoning_effort="high",
            conversation_date="2025-03-10")
        assert conv.model_name == "phi-4"
        assert conv.created_at == clock.now
        [first] = s.path(conv.id)
        assert (first.role, first.content, first.parent_id) == ("user", "Plan   a trip\nto Kyoto",
                                                                None)
        assert conv.active_leaf_id == first.id


def test_settings_snapshot_survives_odd_json() -> None:
    assert ConversationSettings.from_json("not json") == ConversationSettings()
    assert ConversationSettings.from_json('{"temperature": 1, "top_k": "many", "x": 1}') == \
        ConversationSettings(temperature=1.0)


def test_titles_from_first_words() -> None:
    assert make_title("  Hello\n\nworld ") == "Hello world"
    long = make_title("Please explain the difference between processes and threads in Python")
    assert long.endswith("…")
    assert len(long) <= 49
    assert " " in long
    assert not long[:-1].endswith(" ")
    jp = make_title("東京" * 40)
    assert jp == "東京" * 24 + "…"


def test_user_title_is_not_overwritten_by_first_message(store: Store) -> None:
    conv = store.create_conversation(title="Mine")
    store.add_message(conv.id, "user", "Something else")
    assert store.get_conversation(conv.id).title == "Mine"


def test_rename_pin_delete_restore_purge(db_path: Path) -> None:
    clock = FakeClock(1_000_000.0)
    with Store.open(db_path, clock=clock) as s:
        a = s.create_conversation(first_message="alpha")
        clock.now += 10
        b = s.create_conversation(first_message="beta")
        clock.now += 10
        c = s.create_conversation(first_message="gamma")
        assert [e.id for e in s.list_conversations()] == [c.id, b.id, a.id]
        s.set_pinned(a.id, True)
        assert [e.id for e in s.list_conversations()] == [a.id, c.id, b.id]
        assert s.list_conversations()[0].pinned
        s.rename(b.id, "  Renamed\n beta ")
        assert s.get_conversation(b.id).title == "Renamed beta"
        assert [h.conversation_id for h in s.search("renamed")] == [b.id]

        s.delete(c.id)
        assert [e.id for e in s.list_conversations()] == [a.id, b.id]
        assert [e.id for e in s.list_conversations(deleted=True)] == [c.id]
        assert s.search("gamma") == []
        s.restore(c.id)
        assert [h.conversation_id for h in s.search("gamma")] == [c.id]

        s.delete(c.id)
        clock.now += 3600
        s.delete(b.id)
        assert s.purge_deleted(older_than=timedelta(minutes=30)) == 1  # only c is old enough
        with pytest.raises(StorageError, match="no conversation"):
            s.get_conversation(c.id)
        assert s.get_conversation(b.id).deleted_at == clock.now
        assert s.purge_deleted() == 1
        assert [e.id for e in s.list_conversations()] == [a.id]
        # Purged messages leave nothing behind in the search index.
        assert s._db.execute("SELECT count(*) FROM search_index").fetchone()[0] == 2
        assert s._db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1


def test_unknown_ids_are_storage_errors(store: Store) -> None:
    with pytest.raises(StorageError, match="no conversation 42"):
        store.rename(42, "x")
    with pytest.raises(StorageError, match="no message 7"):
        store.get_message(7)
    conv = store.create_conversation()
    other = store.create_conversation(first_message="elsewhere")
    with pytest.raises(StorageError, match="not in conversation"):
        store.add_message(conv.id, "user", "hi", parent_id=other.active_leaf_id)


def test_model_and_settings_can_change(store: Store) -> None:
    conv = store.create_conversation(model_name="a", model_path="/a")
    store.set_model(conv.id, "b", "/b")
    store.set_settings(conv.id, ConversationSettings(system_prompt="new"))
    got = store.get_conversation(conv.id)
    assert (got.model_name, got.model_path, got.settings.system_prompt) == ("b", "/b", "new")


# --- Grouping -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("when", "label"), [
    (datetime(2025, 3, 10, 23, 59), GROUP_TODAY),
    (datetime(2025, 3, 10, 0, 0), GROUP_TODAY),
    (datetime(2025, 3, 9, 23, 59), GROUP_YESTERDAY),
    (datetime(2025, 3, 9, 0, 1), GROUP_YESTERDAY),
    (datetime(2025, 3, 8, 12, 0), GROUP_7_DAYS),
    (datetime(2025, 3, 3, 0, 0), GROUP_7_DAYS),
    (datetime(2025, 3, 2, 23, 0), GROUP_30_DAYS),
    (datetime(2025, 2, 8, 10, 0), GROUP_30_DAYS),
    (datetime(2025, 2, 7, 10, 0), "2025-02"),
    (datetime(2024, 12, 31, 10, 0), "2024-12"),
    (datetime(2025, 3, 11, 8, 0), GROUP_TODAY),  # a clock that went back: not the future
])
def test_group_labels(when: datetime, label: str) -> None:
    now = datetime(2025, 3, 10, 15, 0)
    assert group_label(when.timestamp(), False, now) == label
    assert group_label(when.timestamp(), True, now) == GROUP_PINNED


def test_list_groups_with_fixed_clock(db_path: Path) -> None:
    clock = FakeClock(0.0)
    with Store.open(db_path, clock=clock) as s:
        ids = {}
        for name, when in [("old", datetime(2024, 11, 5, 12)), ("week", datetime(2025, 3, 6, 8)),
                           ("yesterday", datetime(2025, 3, 9, 20)),
                           ("today", datetime(2025, 3, 10, 7))]:
            clock.now = when.timestamp()
            ids[name] = s.create_conversation(first_message=name).id
        s.set_pinned(ids["old"], True)
        clock.now = datetime(2025, 3, 10, 15).timestamp()
        listed = [(e.title, e.group) for e in s.list_conversations()]
        assert listed == [("old", GROUP_PINNED), ("today", GROUP_TODAY),
                          ("yesterday", GROUP_YESTERDAY), ("week", GROUP_7_DAYS)]
        s.set_pinned(ids["old"], False)
        assert s.list_conversations()[-1].group == "2024-11"
        explicit = s.list_conversations(now=datetime(2025, 3, 11, 9))
        assert [e.group for e in explicit][:2] == [GROUP_YESTERDAY, GROUP_7_DAYS]


# --- Messages and branches --------------------------------------------------------------------

def test_history_carries_system_prompt_token_ids_and_reasoning(store: Store) -> None:
    conv = store.create_conversation(settings=ConversationSettings(system_prompt="Be kind"),
                                     first_message="Hi")
    rid = store.begin_reply(conv.id)
    store.finish_reply(rid, result("Hello!", reasoning="greet back", tokens=(1, 2, 30000)))
    store.add_message(conv.id, "user", "And?")
    assert store.history(conv.id) == [
        ChatMessage("system", "Be kind"),
        ChatMessage("user", "Hi"),
        ChatMessage("assistant", "Hello!", (1, 2, 30000), "greet back"),
        ChatMessage("user", "And?"),
    ]


def test_token_ids_pack_compactly() -> None:
    ids = (0, 1, 200_000, 2**31 - 1)
    blob = pack_tokens(ids)
    assert len(blob) == 16
    assert blob[4:8] == b"\x01\x00\x00\x00"  # little-endian on every platform
    assert unpack_tokens(blob) == ids
    assert unpack_tokens(None) is None


def test_edit_makes_a_sibling_branch_and_keeps_the_old_one(store: Store) -> None:
    conv = store.create_conversation(first_message="Q1")
    r1 = store.begin_reply(conv.id)
    store.finish_reply(r1, result("A1"))
    q2 = store.add_message(conv.id, "user", "Q2")
    r2 = store.begin_reply(conv.id)
    store.finish_reply(r2, result("A2"))
    assert [m.content for m in store.path(conv.id)] == ["Q1", "A1", "Q2", "A2"]

    # Edit Q2: a new sibling under A1, then a reply to it.
    q2b = store.edit_message(q2.id, "Q2 edited")
    assert q2b.parent_id == q2.parent_id == r1
    assert [m.content for m in store.path(conv.id)] == ["Q1", "A1", "Q2 edited"]
    r2b = store.begin_reply(conv.id, q2b.id)
    store.finish_reply(r2b, result("A2b"))
    assert [m.content for m in store.path(conv.id)] == ["Q1", "A1", "Q2 edited", "A2b"]
    assert [m.id for m in store.siblings(q2b.id)] == [q2.id, q2b.id]

    # Flip back to the first version: its whole branch comes back, down to its last reply.
    assert [m.content for m in store.switch_branch(q2.id)] == ["Q1", "A1", "Q2", "A2"]
    assert store.get_conversation(conv.id).active_leaf_id == r2
    assert [m.content for m in store.switch_branch(q2b.id)][-1] == "A2b"

    # Regenerate A2b: another reply to the same user message.
    r2c = store.begin_reply(conv.id, q2b.id)
    store.finish_reply(r2c, result("A2c"))
    assert [m.id for m in store.siblings(r2c)] == [r2b, r2c]
    assert [m.content for m in store.path(conv.id)][-1] == "A2c"
    # The tree keeps everything; a path to any leaf can be read without switching.
    assert len(store.messages(conv.id)) == 7
    assert [m.content for m in store.path(conv.id, r2)] == ["Q1", "A1", "Q2", "A2"]


def test_editing_the_first_message_makes_a_new_root(store: Store) -> None:
    conv = store.create_conversation(first_message="first")
    first = store.path(conv.id)[0]
    store.finish_reply(store.begin_reply(conv.id), result("reply"))
    root2 = store.edit_message(first.id, "first, edited")
    assert root2.parent_id is None
    assert [m.id for m in store.siblings(first.id)] == [first.id, root2.id]
    assert [m.content for m in store.path(conv.id)] == ["first, edited"]
    assert store.get_conversation(conv.id).title == "first"


# --- Streaming saves ----------------------------------------------------------------------------

def test_update_reply_writes_at_most_once_per_interval(db_path: Path) -> None:
    mono = FakeClock(100.0)
    with Store.open(db_path, monotonic=mono) as s:
        conv = s.create_conversation(first_message="Tell me")
        rid = s.begin_reply(conv.id, model_name="tiny")
        assert s.get_message(rid).status == "streaming"
        assert s.get_message(rid).figures == {"model": "tiny"}

        def on_disk() -> str:
            # What another process would read now (the writer's cache is not involved).
            with sqlite3.connect(db_path) as db:
                return str(db.execute("SELECT content FROM messages WHERE id = ?",
                                      (rid,)).fetchone()[0])

        assert s.update_reply(rid, "A") is True  # the first text is written at once
        assert on_disk() == "A"
        writes = 0
        text = "A"
        for _ in range(50):  # 50 tokens within 0.98 s: no more writes
            mono.now += 0.0196
            text += "b"
            writes += s.update_reply(rid, text)
        assert writes == 0
        assert on_disk() == "A"
        mono.now += 0.03  # one second after the first write
        assert s.update_reply(rid, text + "c", "thinking") is True
        assert on_disk() == text + "c"
        assert s.get_message(rid).reasoning == "thinking"
        mono.now += 0.5
        assert s.update_reply(rid, text + "cd") is False
        done = s.finish_reply(rid, result(text + "cde", tokens=(1, 2)))
        assert (done.content, done.status, done.finish_reason) == (text + "cde", "complete",
                                                                   "stop")
        assert done.token_ids == (1, 2)
        assert done.figures["model"] == "tiny"
        assert done.figures["generated_tokens"] == 2
        assert on_disk() == text + "cde"


def test_append_reply_streams_deltas_with_the_same_throttle(db_path: Path) -> None:
    mono = FakeClock(0.0)
    with Store.open(db_path, monotonic=mono) as s:
        conv = s.create_conversation(first_message="Think, then answer")
        rid = s.begin_reply(conv.id)
        assert s.append_reply(rid, "Hmm, ", reasoning=True) is True
        mono.now += 0.5
        assert s.append_reply(rid, "let me see.", reasoning=True) is False
        assert s.append_reply(rid, "The answer") is False
        assert (s.get_message(rid).reasoning, s.get_message(rid).content) == ("Hmm, ", "")
        mono.now += 0.6
        assert s.append_reply(rid, " is 42.") is True
        msg = s.get_message(rid)
        assert (msg.reasoning, msg.content) == ("Hmm, let me see.", "The answer is 42.")
        assert [h.message_id for h in s.search("42")] == [rid]


def test_append_reply_continues_a_reply_begun_elsewhere(db_path: Path) -> None:
    with Store.open(db_path) as first:
        conv = first.create_conversation(first_message="x")
        rid = first.begin_reply(conv.id)
        first.append_reply(rid, "Begun by one store")
        with Store.open(db_path) as second:
            second.append_reply(rid, ", continued by another.")
            assert second.get_message(rid).content == "Begun by one store, continued by another."


def test_close_writes_pending_reply_text(db_path: Path) -> None:
    mono = FakeClock(0.0)
    s = Store.open(db_path, monotonic=mono)
    conv = s.create_conversation(first_message="x")
    rid = s.begin_reply(conv.id)
    s.update_reply(rid, "one")
    s.update_reply(rid, "one two")
    s.close()
    with Store.open(db_path) as s2:
        assert s2.get_message(rid).content == "one two"


@pytest.mark.parametrize(("reason", "status"), [
    (FinishReason.STOP, "complete"), (FinishReason.LENGTH, "complete"),
    (FinishReason.CANCELLED, "cancelled"), (FinishReason.ERROR, "error")])
def test_finish_status_follows_the_finish_reason(store: Store, reason: FinishReason,
                                                 status: str) -> None:
    conv = store.create_conversation(first_message="x")
    rid = store.begin_reply(conv.id)
    err = "The runtime failed while generating (X)." if reason is FinishReason.ERROR else ""
    done = store.finish_reply(rid, result("partial", reason, error=err))
    assert (done.status, done.finish_reason, done.error) == (status, str(reason), err)


def test_fail_reply_keeps_the_text_so_far(store: Store) -> None:
    conv = store.create_conversation(first_message="x")
    rid = store.begin_reply(conv.id)
    store.update_reply(rid, "so")
    store.update_reply(rid, "so far")  # throttled, written by fail_reply
    failed = store.fail_reply(rid, "The prompt is too long.")
    assert (failed.content, failed.status, failed.error) == ("so far", "error",
                                                             "The prompt is too long.")
    # A failed reply is not sent back to the model.
    assert store.history(conv.id) == [ChatMessage("user", "x")]


_DIE_MID_REPLY = textwrap.dedent("""
    import os, sys
    from app.core.store import Store
    s = Store.open(sys.argv[1])
    conv = s.create_conversation(first_message="Write a poem")
    rid = s.begin_reply(conv.id)
    s.update_reply(rid, "Roses are")
    print(rid, flush=True)
    os._exit(0)  # dies without finishing or closing, like a crash
""")


def test_reply_of_a_dead_process_becomes_interrupted_on_open(db_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _DIE_MID_REPLY, str(db_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    rid = int(proc.stdout)
    with Store.open(db_path) as s:
        msg = s.get_message(rid)
        assert (msg.status, msg.content) == ("interrupted", "Roses are")
        assert any("interrupted" in n for n in s.notices)
        assert s.integrity_check() == []
        # Interrupted text is kept for the model, so Continue/Regenerate can build on it.
        assert s.history(msg.conversation_id)[-1] == ChatMessage("assistant", "Roses are")
    with Store.open(db_path) as s:
        assert s.notices == []


def test_reply_of_a_live_process_stays_streaming(db_path: Path) -> None:
    # The window and `hearth generate --save` may share the file: opening it must not cut off
    # a reply another live store is writing.
    with Store.open(db_path) as writer:
        conv = writer.create_conversation(first_message="x")
        rid = writer.begin_reply(conv.id)
        writer.update_reply(rid, "partial")
        with Store.open(db_path) as reader:
            assert reader.get_message(rid).status == "streaming"
            assert reader.notices == []
        writer.finish_reply(rid, result("partial and done"))
        assert writer.get_message(rid).status == "complete"


def test_two_stores_on_one_file_see_each_others_writes(db_path: Path) -> None:
    with Store.open(db_path) as a, Store.open(db_path) as b:
        conv = a.create_conversation(first_message="from a")
        b.add_message(conv.id, "assistant", "from b")
        assert [m.content for m in a.path(conv.id)] == ["from a", "from b"]


# --- Search ---------------------------------------------------------------------------------------

# Full-width letters, escaped: ruff flags look-alike characters written out.
FULLWIDTH_ABC = "\uff21\uff22\uff23"
FULLWIDTH_CAF = "\uff23\uff41\uff46"


@pytest.fixture
def corpus(store: Store) -> dict[str, int]:
    ids = {}
    for key, first, reply in [
        ("tokyo", "東京の人口は", "東京都の人口は約1400万人です。"),
        ("settings", "設定画面はどこですか", "右上の歯車から設定を開けます。"),
        ("kyoto", "京都のおすすめ", "清水寺と金閣寺がおすすめです。"),
        ("python", "How do I read a file in Python?", "Use open() with a with-statement."),
        ("mixed", "Pythonの設定ファイル", "pyproject.tomlに書きます。"),
        ("fullwidth", FULLWIDTH_ABC + " ｶﾀｶﾅ test", FULLWIDTH_CAF + "é answer"),
    ]:
        conv = store.create_conversation(first_message=first)
        store.finish_reply(store.begin_reply(conv.id), result(reply))
        ids[key] = conv.id
    return ids


@pytest.mark.parametrize(("query", "expected"), [
    ("東京", {"tokyo"}),              # 2-character word (trigram misses it)
    ("設定", {"settings", "mixed"}),
    ("人口", {"tokyo"}),
    ("京", {"tokyo", "kyoto"}),        # one character matches anywhere in a run
    ("都", {"tokyo", "kyoto"}),        # also at the end of a run (京都)
    ("東京都", {"tokyo"}),
    ("京都", {"kyoto", "tokyo"}),      # 東京都 contains 京都 as characters
    ("金閣寺", {"kyoto"}),
    ("設定 Python", {"mixed"}),
    ("python", {"python", "mixed"}),
    ("PYTHON", {"python", "mixed"}),
    ("pyth", {"python", "mixed"}),     # prefix, as one types
    ("with statement", {"python"}),
    ("abc", {"fullwidth"}),            # full-width ABC, NFKC
    ("カタカナ", {"fullwidth"}),        # half-width ｶﾀｶﾅ, NFKC
    ("cafe", {"fullwidth"}),           # diacritics removed
    ("大阪", set()),
    ("python 東京", set()),
])
def test_search_english_and_japanese(store: Store, corpus: dict[str, int], query: str,
                                     expected: set[str]) -> None:
    found = {cid for cid in (h.conversation_id for h in store.search(query))}
    assert found == {corpus[k] for k in expected}


def test_search_hit_has_title_message_and_snippet(store: Store, corpus: dict[str, int]) -> None:
    [hit] = store.search("歯車")
    assert hit.conversation_id == corpus["settings"]
    assert hit.title == "設定画面はどこですか"
    assert store.get_message(hit.message_id).content == "右上の歯車から設定を開けます。"
    assert hit.snippet == "右上の歯車から設定を開けます。"
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["歯車"]


def test_search_prefers_a_message_and_counts_matches(store: Store, corpus: dict[str, int]) -> None:
    [hit] = store.search("人口")
    assert hit.message_id is not None
    assert hit.matches == 3  # the title, the question and the answer


def test_search_title_only_hit(store: Store) -> None:
    conv = store.create_conversation(first_message="nothing here")
    store.rename(conv.id, "Holiday ideas")
    [hit] = store.search("holiday")
    assert (hit.conversation_id, hit.message_id, hit.snippet) == (conv.id, None, "Holiday ideas")


def test_search_long_message_snippet_is_cut_around_the_match(store: Store) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "lorem ipsum " * 40 + "the needle is here " +
                      "dolor sit " * 40)
    [hit] = store.search("needle")
    assert hit.snippet.startswith("…")
    assert hit.snippet.endswith("…")
    assert len(hit.snippet) <= 122
    [(a, b)] = hit.highlights
    assert hit.snippet[a:b] == "needle"


def test_search_follows_streaming_updates_and_edits(store: Store) -> None:
    conv = store.create_conversation(first_message="go")
    rid = store.begin_reply(conv.id)
    store.update_reply(rid, "first draft mentions zebras")
    assert [h.message_id for h in store.search("zebras")] == [rid]
    store.finish_reply(rid, result("final text mentions giraffes"))
    assert store.search("zebras") == []
    assert [h.message_id for h in store.search("giraffes")] == [rid]


@pytest.mark.parametrize("query", ["", "   ", '"', "*", "AND", "NEAR(", "(", "-", "a:b", "。、"])
def test_search_odd_input_never_raises(store: Store, corpus: dict[str, int], query: str) -> None:
    assert isinstance(store.search(query), list)


def test_search_limit_and_ranking(store: Store) -> None:
    for n in range(5):
        conv = store.create_conversation()
        store.add_message(conv.id, "user", "apple " * (n + 1) + "filler " * 30)
    hits = store.search("apple", limit=3)
    assert len(hits) == 3
    texts = [store.get_message(h.message_id).content.count("apple") for h in hits]
    assert texts == sorted(texts, reverse=True)  # bm25: more mentions rank higher


# --- Attachments ----------------------------------------------------------------------------------

def test_attachments_crud_and_cascade(store: Store) -> None:
    conv = store.create_conversation(first_message="read this")
    att = store.add_attachment(conv.id, "/docs/報告書.pdf", "報告書.pdf")
    assert (att.state, att.sha256, att.name) == ("pending", "", "報告書.pdf")
    store.set_attachment_state(att.id, "ready", sha256="ab" * 32)
    [got] = store.attachments(conv.id)
    assert (got.state, got.sha256) == ("ready", "ab" * 32)
    store.remove_attachment(att.id)
    assert store.attachments(conv.id) == []
    store.add_attachment(conv.id, "/docs/a.txt", "a.txt")
    store.delete(conv.id)
    store.purge_deleted()
    assert store._db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0


def test_document_context_is_sent_to_the_model_but_not_shown(db_path: Path) -> None:
    with Store.open(db_path) as s:
        conv = s.create_conversation()
        question = s.add_message(conv.id, "user", "When was the pump replaced?")
        sources = [{"n": 1, "name": "report.pdf", "page_start": 3, "page_end": 3}]
        s.set_context(question.id, "[1] report.pdf, page 3: The pump was replaced in March.",
                      sources)
    with Store.open(db_path) as s:
        saved = s.get_message(question.id)
        assert saved.content == "When was the pump replaced?"
        assert saved.sources == tuple(sources)
        sent = s.history(conv.id)[-1].content
        assert sent.startswith("[1] report.pdf, page 3")
        assert sent.endswith("When was the pump replaced?")
        with pytest.raises(StorageError):
            s.set_context(9999, "x")
