"""Settings: the schema, the JSON file (broken, old and newer ones), atomic saves, moving data."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from pathlib import Path

import pytest

from app.core.chat import CancelToken, GenerationOptions
from app.core.errors import AppError
from app.core.paths import AppPaths
from app.core.settings import (
    MIGRATIONS,
    SCHEMA_VERSION,
    GenerationSettings,
    InvalidSettingError,
    Settings,
    SettingsError,
    SettingsStore,
    apply_preset,
    changed_fields,
    delete_preset,
    describe_settings,
    get_value,
    resolve_paths,
    save_preset,
    update,
)


@pytest.fixture
def store(app_paths: AppPaths) -> SettingsStore:
    return SettingsStore(app_paths)


def write(store: SettingsStore, content: bytes | str | object) -> bytes:
    """Put `content` (bytes as is, anything else as JSON) in the settings file; return its bytes."""
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(raw)
    return raw


def backups(store: SettingsStore, label: str = "bad") -> list[Path]:
    return sorted(store.path.parent.glob(f"settings.json.{label}-*"))


def custom() -> Settings:
    return save_preset(update(Settings(), {
        "appearance.theme": "dark", "appearance.font_size": 14, "appearance.language": "ja",
        "model.default_model": str(Path("/モデル/qwen").absolute()), "model.provider": "cpu",
        "model.context_cap": 4096, "generation.system_prompt": "日本語で答えてください。",
        "generation.temperature": 0.2, "generation.top_k": 10,
        "generation.reasoning_effort": "high", "privacy.offline_mode": True,
    }), "精密")


# --- Schema -------------------------------------------------------------------------------------

def test_every_setting_is_described_with_bounds_or_choices() -> None:
    infos = describe_settings()
    keys = [i.key for i in infos]
    assert len(keys) == len(set(keys))
    assert "appearance.theme" in keys
    assert "data.data_dir" in keys
    for info in infos:
        assert info.spec.doc, info.key
        if info.type in (int, float):
            assert info.spec.minimum is not None, info.key
            assert info.spec.maximum is not None, info.key
    theme = next(i for i in infos if i.key == "appearance.theme")
    assert theme.choices == ("light", "dark", "system")
    assert theme.default == "system"


def test_defaults_agree_with_generation_options_and_the_engine() -> None:
    from app.core.engine import DEFAULT_CONTEXT_CAP

    assert GenerationSettings().to_options() == GenerationOptions()
    assert Settings().model.context_cap == DEFAULT_CONTEXT_CAP


def test_offline_mode_is_off_by_default_and_there_is_no_telemetry_setting() -> None:
    assert Settings().privacy.offline_mode is False
    assert not [i for i in describe_settings() if "telemetry" in i.key]


def test_generation_options_snapshot() -> None:
    settings = update(Settings(), {"generation.temperature": 0, "generation.top_p": 0.5,
                                   "generation.top_k": 5, "generation.max_new_tokens": 64,
                                   "generation.reasoning_effort": "low"})
    options = settings.generation.to_options(conversation_date="2025-01-02")
    assert options == GenerationOptions(max_new_tokens=64, temperature=0.0, top_p=0.5, top_k=5,
                                        reasoning_effort="low", conversation_date="2025-01-02")
    assert options.greedy
    assert isinstance(options.temperature, float)
    # A snapshot: later edits to the settings do not reach a request already sent.
    update(settings, {"generation.top_k": 99})
    assert options.top_k == 5


@pytest.mark.parametrize(("key", "value"), [
    ("appearance.theme", "auto"),
    ("appearance.font_size", 100),
    ("appearance.font_size", 12.5),
    ("appearance.font_size", True),
    ("generation.temperature", float("nan")),
    ("generation.top_p", 0),
    ("model.provider", "tpu"),
    ("model.default_model", "relative/model"),
    ("data.data_dir", "relative"),
    ("privacy.offline_mode", 1),
    ("appearance.colour", "red"),
    ("nothing", 1),
])
def test_update_rejects_bad_values_and_unknown_keys(key: str, value: object) -> None:
    before = Settings()
    with pytest.raises(InvalidSettingError) as info:
        update(before, {key: value})
    assert isinstance(info.value, AppError)
    assert key.split(".")[0] in str(info.value) or "no setting" in str(info.value)
    assert before == Settings()


def test_update_changed_fields_and_get_value() -> None:
    old = Settings()
    new = update(old, {"appearance.theme": "dark", "generation.temperature": 1})
    assert new.generation.temperature == 1.0
    assert isinstance(new.generation.temperature, float)
    assert changed_fields(old, new) == ["appearance.theme", "generation.temperature"]
    assert changed_fields(new, new) == []
    assert get_value(new, "appearance.theme") == "dark"
    assert old.appearance.theme == "system"
    with_preset = save_preset(new, "Creative")
    assert changed_fields(new, with_preset) == ["presets"]


def test_presets_save_apply_replace_and_delete() -> None:
    settings = save_preset(update(Settings(), {"generation.temperature": 1.5}), "Creative")
    settings = save_preset(update(settings, {"generation.temperature": 0.1}), "Precise")
    assert [p.name for p in settings.presets] == ["Creative", "Precise"]
    applied = apply_preset(settings, "creative")
    assert applied.generation.temperature == 1.5
    replaced = save_preset(applied, "PRECISE ")
    assert len(replaced.presets) == 2
    assert replaced.preset("precise") is not None
    assert replaced.presets[1].generation.temperature == 1.5
    assert [p.name for p in delete_preset(replaced, "Creative").presets] == ["PRECISE"]
    with pytest.raises(InvalidSettingError):
        apply_preset(settings, "missing")
    with pytest.raises(InvalidSettingError):
        update(settings, {"presets": (*settings.presets, settings.presets[0])})
    with pytest.raises(InvalidSettingError):
        save_preset(settings, "  ")


# --- Loading and saving -------------------------------------------------------------------------

def test_missing_file_gives_defaults_without_warnings(store: SettingsStore) -> None:
    assert store.load() == (Settings(), [])
    assert not store.path.exists()


def test_defaults_round_trip(store: SettingsStore) -> None:
    assert store.save(Settings())
    data = json.loads(store.path.read_text("utf-8"))
    assert next(iter(data)) == "schema_version"
    assert data["schema_version"] == SCHEMA_VERSION
    assert store.load() == (Settings(), [])


def test_custom_settings_round_trip_with_japanese_text(store: SettingsStore) -> None:
    settings = custom()
    store.save(settings)
    assert "日本語で答えてください" in store.path.read_text("utf-8")
    assert SettingsStore(store.paths).load() == (settings, [])


def test_saving_leaves_no_temp_files(store: SettingsStore) -> None:
    for size in (10, 11, 12):
        store.save(update(Settings(), {"appearance.font_size": size}))
    assert [p.name for p in store.path.parent.iterdir()] == ["settings.json"]
    assert store.load()[0].appearance.font_size == 12


def test_failed_replace_leaves_the_old_file_and_no_temp(
        store: SettingsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.save(Settings())
    before = store.path.read_bytes()

    def full_disk(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(SettingsError, match="the disk is full"):
        store.save(update(Settings(), {"appearance.theme": "dark"}))
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert [p.name for p in store.path.parent.iterdir()] == ["settings.json"]


def test_save_where_the_config_folder_cannot_be_created_raises_settings_error(
        tmp_path: Path) -> None:
    # Root ignores permission bits, so "not writable" is simulated by a regular file standing
    # where a parent folder of the config folder should be: mkdir fails the same way for all.
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    paths = AppPaths(data=tmp_path / "data", config=blocker / "config", logs=tmp_path / "logs",
                     cache=tmp_path / "cache")
    store = SettingsStore(paths)
    settings, _ = store.load()
    changed = update(settings, {"appearance.theme": "dark"})
    with pytest.raises(SettingsError) as info:
        store.save(changed)
    assert "could not be saved" in info.value.user_message
    assert str(blocker) in info.value.user_message
    assert changed.appearance.theme == "dark"  # what the user chose stays in memory
    assert blocker.read_text() == "a file, not a folder"


BAD_FILES: dict[str, tuple[object, dict[str, object], str]] = {
    # name: (content, values that must survive, a word the warnings must contain)
    "garbage bytes": (b"\x00\xff\xfe garbage {", {}, "JSON"),
    "truncated JSON": (b'{"schema_version": 2, "appearance": {"theme": "da', {}, "JSON"),
    "a list, not an object": ([1, 2, 3], {}, "list"),
    "a string": ("settings", {}, "text"),
    "null": (None, {}, "null"),
    "groups of the wrong shape": (
        {"schema_version": 2, "appearance": ["dark"], "model": 5,
         "generation": {"temperature": 0.3}},
        {"generation.temperature": 0.3}, "expected a group"),
    "wrong types": (
        {"schema_version": 2,
         "appearance": {"theme": "dark", "font_size": "big", "language": 3},
         "privacy": {"offline_mode": "yes"}, "generation": {"top_k": 2.5, "top_p": True},
         "data": {"data_dir": 7}},
        {"appearance.theme": "dark"}, "appearance.font_size"),
    "out of range": (
        {"schema_version": 2, "appearance": {"font_size": 1000, "theme": "light"},
         "generation": {"temperature": -1, "top_k": 0, "max_new_tokens": 10**9,
                        "top_p": 0.5},
         "model": {"context_cap": 1, "provider": "tpu"}},
        {"appearance.theme": "light", "generation.top_p": 0.5}, "out of range"),
    "unknown keys": (
        {"schema_version": 2, "appearance": {"theme": "dark", "sparkles": True},
         "telemetry": {"enabled": True}},
        {"appearance.theme": "dark"}, "unknown setting"),
    "bad presets": (
        {"schema_version": 2, "presets": [
            {"name": "Good", "generation": {"temperature": 0.1}},
            {"name": "good", "generation": {}},
            {"generation": {}}, "preset", {"name": "x" * 500},
            {"name": "Half good", "generation": {"temperature": 9, "top_k": 3}}]},
        {}, "preset"),
    "presets not a list": ({"schema_version": 2, "presets": {"a": 1}}, {}, "presets"),
    "no schema_version": ({"appearance": {"theme": "auto"}}, {"appearance.theme": "system"},
                          "schema_version"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_broken_file_keeps_valid_values_warns_and_backs_up(store: SettingsStore,
                                                           case: str) -> None:
    content, kept, word = BAD_FILES[case]
    raw = write(store, content)
    settings, warnings = store.load()
    assert isinstance(settings, Settings)
    assert warnings
    assert any(word in w for w in warnings), warnings
    for key, value in kept.items():
        assert get_value(settings, key) == value
    copies = backups(store)
    assert len(copies) == 1
    assert copies[0].read_bytes() == raw
    assert copies[0].name in warnings[-1]
    # Everything not kept is a valid default, so the loaded settings save and load cleanly.
    store.save(settings)
    assert store.load() == (settings, [])


def test_bad_presets_keep_the_good_ones(store: SettingsStore) -> None:
    write(store, BAD_FILES["bad presets"][0])
    settings, _ = store.load()
    assert [p.name for p in settings.presets] == ["Good", "Half good"]
    assert settings.presets[0].generation.temperature == 0.1
    assert settings.presets[1].generation.temperature == 0.7  # out of range: the default
    assert settings.presets[1].generation.top_k == 3


def test_a_broken_file_is_backed_up_once(store: SettingsStore) -> None:
    write(store, b"not json")
    store.load()
    store.load()
    assert len(backups(store)) == 1


def test_unreadable_file_warns_and_is_not_overwritten_unchanged(store: SettingsStore) -> None:
    store.path.mkdir(parents=True)  # a folder where the file should be
    settings, warnings = store.load()
    assert settings == Settings()
    assert warnings
    assert "could not be read" in warnings[0]
    assert store.save(settings) is False
    with pytest.raises(SettingsError):
        store.save(update(settings, {"appearance.theme": "dark"}))


def test_migration_from_v1_renames_auto_theme(store: SettingsStore) -> None:
    write(store, {"schema_version": 1, "appearance": {"theme": "auto", "font_size": 14},
                  "generation": {"temperature": 0.4}})
    settings, warnings = store.load()
    assert warnings == []
    assert settings.appearance.theme == "system"
    assert settings.appearance.font_size == 14
    assert settings.generation.temperature == 0.4
    assert backups(store) == []
    store.save(settings)
    assert json.loads(store.path.read_text())["schema_version"] == SCHEMA_VERSION


def test_migrations_cover_every_old_version() -> None:
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))
    for migrate in MIGRATIONS.values():
        # A migration must take any JSON object without raising.
        for odd in ({}, {"appearance": 5}, {"appearance": {"theme": None}}):
            assert isinstance(migrate(odd), dict)


def test_newer_file_is_read_and_kept_until_the_user_changes_something(
        store: SettingsStore) -> None:
    raw = write(store, {"schema_version": SCHEMA_VERSION + 1,
                        "appearance": {"theme": "dark", "font_size": 13, "animations": "fast"},
                        "sync": {"enabled": False},
                        "generation": {"temperature": 5.0}})
    settings, warnings = store.load()
    assert settings.appearance.theme == "dark"
    assert settings.appearance.font_size == 13
    assert settings.generation.temperature == 0.7  # out of range here: default, with a warning
    assert "newer Hearth" in warnings[0]
    assert any("generation.temperature" in w for w in warnings)
    assert not any("unknown setting" in w for w in warnings)  # expected in a newer file
    assert backups(store) == []

    assert store.save(settings) is False
    assert store.path.read_bytes() == raw

    assert store.save(update(settings, {"appearance.font_size": 15})) is True
    copies = backups(store, f"v{SCHEMA_VERSION + 1}")
    assert len(copies) == 1
    assert copies[0].read_bytes() == raw
    reloaded, warnings = store.load()
    assert warnings == []
    assert reloaded.appearance.font_size == 15
    assert reloaded.appearance.theme == "dark"


# --- The data folder ----------------------------------------------------------------------------

def fill(folder: Path) -> dict[str, bytes]:
    files = {
        "conversations.sqlite3": os.urandom(3 * 1024 * 1024 + 17),  # several copy chunks
        "models/tiny/genai_config.json": b'{"model": {}}',
        "models/日本語モデル/重み.onnx": os.urandom(4096),
        "empty.txt": b"",
    }
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    (folder / "models" / "empty-folder").mkdir()
    return files


def test_move_data_dir_copies_verifies_and_records_a_japanese_folder(
        store: SettingsStore, tmp_path: Path) -> None:
    source = store.paths.data
    files = fill(source)
    target = tmp_path / "ユーザー" / "ハース データ"
    seen: list[tuple[int, int]] = []

    settings = store.move_data_dir(Settings(), target, progress=lambda d, t: seen.append((d, t)))

    assert settings is not None
    assert settings.data.data_dir == str(target)
    for rel, data in files.items():
        assert (target / rel).read_bytes() == data
        assert (source / rel).read_bytes() == data  # the old folder is left for the user
    assert (target / "models" / "empty-folder").is_dir()
    total = sum(len(d) for d in files.values())
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert SettingsStore(store.paths).load() == (settings, [])
    assert store.data_dir(settings) == target
    moved, warnings = resolve_paths(store.paths, settings)
    assert (moved.data, warnings) == (target, [])
    assert moved.config == store.paths.config


def test_move_data_dir_into_an_existing_empty_folder(store: SettingsStore,
                                                     tmp_path: Path) -> None:
    fill(store.paths.data)
    target = tmp_path / "empty"
    target.mkdir()
    assert store.move_data_dir(Settings(), target) is not None
    assert (target / "models" / "tiny" / "genai_config.json").exists()


def test_move_data_dir_refuses_a_non_empty_destination(store: SettingsStore,
                                                      tmp_path: Path) -> None:
    fill(store.paths.data)
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(SettingsError, match="not empty"):
        store.move_data_dir(Settings(), target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert not store.path.exists()  # nothing recorded


@pytest.mark.parametrize("inside", [".", "models", "models/new"])
def test_move_data_dir_refuses_a_destination_inside_the_source(store: SettingsStore,
                                                              inside: str) -> None:
    fill(store.paths.data)
    with pytest.raises(SettingsError, match="inside the current one"):
        store.move_data_dir(Settings(), store.paths.data / inside)
    assert not (store.paths.data / "models" / "new").exists()
    assert not store.path.exists()


def test_move_data_dir_refuses_a_relative_destination(store: SettingsStore) -> None:
    with pytest.raises(SettingsError, match="full path"):
        store.move_data_dir(Settings(), "relative/folder")


def test_move_data_dir_refuses_when_the_drive_lacks_space(
        store: SettingsStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    fill(store.paths.data)
    # The test machine's disk is large, so a nearly full one is simulated.
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda p: real(p)._replace(free=1024 * 1024))
    with pytest.raises(SettingsError, match="Not enough free space"):
        store.move_data_dir(Settings(), tmp_path / "small")
    assert not (tmp_path / "small").exists()


def test_cancelled_move_removes_the_partial_copy_and_records_nothing(
        store: SettingsStore, tmp_path: Path) -> None:
    fill(store.paths.data)
    target = tmp_path / "cancelled"
    token = CancelToken()
    result = store.move_data_dir(Settings(), target, progress=lambda d, t: token.cancel(),
                                 cancel=token)
    assert result is None
    assert not target.exists()
    assert not store.path.exists()


def test_resolve_paths_falls_back_when_the_folder_is_gone(store: SettingsStore,
                                                         tmp_path: Path) -> None:
    settings = update(Settings(), {"data.data_dir": str(tmp_path / "unplugged")})
    paths, warnings = resolve_paths(store.paths, settings)
    assert paths == store.paths
    assert "not available" in warnings[0]
    assert resolve_paths(store.paths, Settings()) == (store.paths, [])


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().appearance.theme = "dark"  # type: ignore[misc]
