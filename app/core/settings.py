"""Every user setting in one typed schema, stored as JSON in the config folder.

Each setting is a field of a frozen dataclass group with its type (a Literal lists the choices),
its default, and a `Spec` (one-line description, bounds, unit). Constructing a group validates it,
so a `Settings` value is always valid; `update` changes fields by dotted key ("appearance.theme").

`SettingsStore` reads and writes `<config>/settings.json`:

- A missing file gives the defaults. A broken one never stops the app: what is valid is kept, the
  rest defaults, the file is copied to `settings.json.bad-<timestamp>`, and `load` returns
  warnings the UI should show.
- The file carries `schema_version`; older files are upgraded by `MIGRATIONS`. A file from a newer
  Hearth is read for the keys this version knows and is left untouched until the user changes a
  setting; it is then copied to `settings.json.v<N>-<timestamp>` before being overwritten.
- Writes are atomic (temp file in the same folder, fsync, `os.replace`), so a crash or a full
  disk never leaves half a file.

Privacy: Hearth has no telemetry and never connects anywhere unless the user starts a download;
`privacy.offline_mode` additionally refuses those. The Hugging Face token is not a setting: it
lives in the OS keyring (`app.core.secrets`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args, get_origin, get_type_hints

from app.core.chat import GenerationOptions
from app.core.errors import AppError
from app.core.files import Cancellable, Cancelled, copy_file_hashed, sha256_file
from app.core.paths import AppPaths

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""Version of the file format this code writes. Bump it with a new entry in `MIGRATIONS`."""
SETTINGS_FILE = "settings.json"

Theme = Literal["light", "dark", "system"]
Language = Literal["system", "en", "ja"]
Provider = Literal["auto", "cpu", "cuda", "dml"]
ReasoningEffort = Literal["low", "medium", "high"]

MAX_PRESETS = 50


class SettingsError(AppError):
    """Settings could not be saved, or the data folder could not be moved."""


class InvalidSettingError(AppError):
    """A value outside its setting's type, choices or bounds, or an unknown setting key."""


@dataclass(frozen=True)
class Spec:
    """What the schema says about a setting besides its type and default."""

    doc: str
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    max_length: int | None = None
    """Longest accepted text (characters)."""
    non_empty: bool = False
    absolute_path: bool = False
    """Text that, when not empty, must be an absolute path."""


def spec(doc: str, *, minimum: float | None = None, maximum: float | None = None,
         unit: str = "", max_length: int | None = None, non_empty: bool = False,
         absolute_path: bool = False) -> dict[str, Spec]:
    """The metadata of a setting's dataclass field: `field(default=..., metadata=spec(...))`."""
    return {"spec": Spec(doc, minimum, maximum, unit, max_length, non_empty, absolute_path)}


class _Group:
    """Base of the setting groups: validates (and normalises) every field on construction."""

    key: ClassVar[str] = ""
    """Prefix of this group's dotted keys in messages ("appearance")."""

    def __post_init__(self) -> None:
        for f, hint in _fields(type(self)):
            value = getattr(self, f.name)
            checked = _check(value, hint, f.metadata["spec"], _join(self.key, f.name))
            if checked is not value:
                # Frozen: normalising (int -> float, list -> tuple) has to bypass __setattr__.
                object.__setattr__(self, f.name, checked)


@dataclass(frozen=True)
class AppearanceSettings(_Group):
    """How the window looks and which language it speaks."""

    key: ClassVar[str] = "appearance"

    theme: Theme = field(default="system", metadata=spec(
        "Colour scheme: light, dark, or follow the system"))
    font_size: int = field(default=11, metadata=spec(
        "Size of the chat text", minimum=8, maximum=32, unit="pt"))
    language: Language = field(default="system", metadata=spec(
        "Interface language: follow the system, English or Japanese"))


@dataclass(frozen=True)
class ModelSettings(_Group):
    """Which model opens at start and how it is loaded."""

    key: ClassVar[str] = "model"

    default_model: str = field(default="", metadata=spec(
        "Model folder loaded at start; empty loads none", max_length=4096, absolute_path=True))
    provider: Provider = field(default="auto", metadata=spec(
        "Where the model runs: auto (the GPU if possible), CPU, CUDA or DirectML"))
    # 8192 matches engine.DEFAULT_CONTEXT_CAP (a test holds them together); not imported so that
    # reading settings does not import the engine.
    context_cap: int = field(default=8192, metadata=spec(
        "Longest conversation the model keeps in memory; more tokens reserve more memory",
        minimum=512, maximum=262144, unit="tokens"))


@dataclass(frozen=True)
class GenerationSettings(_Group):
    """How replies are generated; `to_options` makes the snapshot a request carries."""

    key: ClassVar[str] = "generation"

    system_prompt: str = field(default="", metadata=spec(
        "Instructions given to the model at the start of every conversation", max_length=20000))
    temperature: float = field(default=0.7, metadata=spec(
        "Randomness of replies; 0 always picks the likeliest word", minimum=0.0, maximum=2.0))
    top_p: float = field(default=0.95, metadata=spec(
        "Sample only from the likeliest words that together reach this probability",
        minimum=0.01, maximum=1.0))
    top_k: int = field(default=40, metadata=spec(
        "Sample only from this many likeliest words", minimum=1, maximum=1000))
    max_new_tokens: int = field(default=1024, metadata=spec(
        "Longest reply", minimum=1, maximum=32768, unit="tokens"))
    reasoning_effort: ReasoningEffort = field(default="medium", metadata=spec(
        "How long reasoning models (gpt-oss) think before answering"))

    def to_options(self, conversation_date: str = "") -> GenerationOptions:
        """The snapshot a generation request carries (workers never read global settings).

        The system prompt is not an option: the chat puts it in the conversation's messages.
        """
        return GenerationOptions(
            max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p,
            top_k=self.top_k, reasoning_effort=self.reasoning_effort,
            conversation_date=conversation_date)


@dataclass(frozen=True)
class GenerationPreset(_Group):
    """A named set of generation settings the user saved."""

    key: ClassVar[str] = "preset"

    name: str = field(metadata=spec(
        "Name shown in the preset menu", max_length=60, non_empty=True))
    generation: GenerationSettings = field(default_factory=GenerationSettings, metadata=spec(
        "The saved values"))


@dataclass(frozen=True)
class PrivacySettings(_Group):
    """Network use. Nothing connects unless the user starts a download; there is no telemetry."""

    key: ClassVar[str] = "privacy"

    offline_mode: bool = field(default=False, metadata=spec(
        "Refuse all network access, even downloads you start"))


@dataclass(frozen=True)
class DataSettings(_Group):
    """Where conversations and models are kept."""

    key: ClassVar[str] = "data"

    data_dir: str = field(default="", metadata=spec(
        "Folder for conversations and models; empty uses the system's default",
        max_length=4096, absolute_path=True))


@dataclass(frozen=True)
class Settings(_Group):
    """All settings. Immutable: change them with `update`, compare with `changed_fields`."""

    appearance: AppearanceSettings = field(default_factory=AppearanceSettings,
                                           metadata=spec("Appearance"))
    model: ModelSettings = field(default_factory=ModelSettings, metadata=spec("Model"))
    generation: GenerationSettings = field(default_factory=GenerationSettings,
                                           metadata=spec("Generation defaults"))
    privacy: PrivacySettings = field(default_factory=PrivacySettings, metadata=spec("Privacy"))
    data: DataSettings = field(default_factory=DataSettings, metadata=spec("Data"))
    presets: tuple[GenerationPreset, ...] = field(default=(), metadata=spec(
        "Saved generation presets"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.presets) > MAX_PRESETS:
            raise InvalidSettingError(f"At most {MAX_PRESETS} presets can be saved.")
        seen: set[str] = set()
        for preset in self.presets:
            folded = preset.name.strip().casefold()
            if folded in seen:
                raise InvalidSettingError(f"Two presets are named {preset.name!r}; "
                                          "preset names must differ.")
            seen.add(folded)

    def preset(self, name: str) -> GenerationPreset | None:
        """The preset called `name` (case-insensitive), if any."""
        folded = name.strip().casefold()
        return next((p for p in self.presets if p.name.strip().casefold() == folded), None)


# --- The schema, read generically ---------------------------------------------------------------

@dataclass(frozen=True)
class SettingInfo:
    """One setting as the settings pane needs it (labels, ranges, combo box choices)."""

    key: str
    type: type
    default: object
    spec: Spec
    choices: tuple[str, ...] = ()


_FIELDS: dict[type, tuple[tuple[dataclasses.Field[Any], Any], ...]] = {}


def _fields(cls: type) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    """A group's fields with their resolved types (annotations are strings in this module)."""
    if cls not in _FIELDS:
        hints = get_type_hints(cls)
        _FIELDS[cls] = tuple((f, hints[f.name]) for f in dataclasses.fields(cls))
    return _FIELDS[cls]


def _is_group(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, _Group)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def describe_settings() -> list[SettingInfo]:
    """Every setting with its dotted key, in declaration order (presets excluded)."""
    infos: list[SettingInfo] = []
    for group_field, group_cls in _fields(Settings):
        if not _is_group(group_cls):
            continue
        for f, hint in _fields(group_cls):
            is_literal = get_origin(hint) is Literal
            infos.append(SettingInfo(
                key=_join(group_field.name, f.name), type=str if is_literal else hint,
                default=f.default, spec=f.metadata["spec"],
                choices=get_args(hint) if is_literal else ()))
    return infos


def _show(value: object) -> str:
    """A value for a message: short, so a pasted essay does not fill the warning."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check(value: object, hint: Any, spec: Spec, key: str) -> Any:
    """Return `value` (normalised) if it fits the setting, else raise InvalidSettingError."""
    unit = f" {spec.unit}" if spec.unit else ""
    origin = get_origin(hint)
    if origin is Literal:
        choices = get_args(hint)
        if not isinstance(value, str) or value not in choices:
            raise InvalidSettingError(
                f"{key}: {_show(value)} is not one of {', '.join(choices)}")
        return value
    if origin is tuple:
        item_type = get_args(hint)[0]
        if not isinstance(value, tuple | list) or not all(isinstance(v, item_type)
                                                          for v in value):
            raise InvalidSettingError(f"{key}: expected a list of {item_type.__name__}")
        return tuple(value)
    if _is_group(hint):
        if not isinstance(value, hint):
            raise InvalidSettingError(f"{key}: expected {hint.__name__}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise InvalidSettingError(f"{key}: {_show(value)} is not true or false")
        return value
    if hint is int or hint is float:
        # bool is an int subclass, but `true` for a font size is a mistake, not 1 pt.
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                hint is int and not isinstance(value, int)):
            raise InvalidSettingError(f"{key}: {_show(value)} is not a "
                                      f"{'whole number' if hint is int else 'number'}")
        number = float(value) if hint is float else value
        if not math.isfinite(number) or (
                spec.minimum is not None and number < spec.minimum) or (
                spec.maximum is not None and number > spec.maximum):
            low = "" if spec.minimum is None else f"{spec.minimum:g}"
            high = "" if spec.maximum is None else f"{spec.maximum:g}"
            raise InvalidSettingError(f"{key}: {_show(value)} is out of range "
                                      f"({low} to {high}{unit})")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise InvalidSettingError(f"{key}: {_show(value)} is not text")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise InvalidSettingError(f"{key}: longer than {spec.max_length} characters")
        if spec.non_empty and not value.strip():
            raise InvalidSettingError(f"{key}: must not be empty")
        if spec.absolute_path and value and not Path(value).expanduser().is_absolute():
            raise InvalidSettingError(f"{key}: {_show(value)} is not a full path")
        return value
    raise TypeError(f"setting {key} has an unsupported type {hint!r}")  # a schema bug


# --- Changing and comparing --------------------------------------------------------------------

def get_value(settings: Settings, key: str) -> Any:
    """The value at a dotted key ("generation.temperature", or a group such as "presets")."""
    value: Any = settings
    for part in key.split("."):
        if not isinstance(value, _Group) or part not in {f.name for f, _ in _fields(type(value))}:
            raise InvalidSettingError(f"There is no setting called {key!r}.")
        value = getattr(value, part)
    return value


def update(settings: Settings, changes: Mapping[str, object]) -> Settings:
    """A copy of `settings` with `changes` applied, validated; keys are dotted.

    >>> update(Settings(), {"appearance.theme": "dark"}).appearance.theme
    'dark'

    Raises InvalidSettingError naming the first bad key or value; `settings` is never changed.
    """
    by_group: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in changes.items():
        get_value(settings, key)  # rejects unknown keys
        group, _, name = key.partition(".")
        if name:
            by_group.setdefault(group, {})[name] = value
        else:
            top[group] = value
    for group, group_changes in by_group.items():
        top[group] = dataclasses.replace(top.get(group, getattr(settings, group)),
                                         **group_changes)
    return dataclasses.replace(settings, **top)


def changed_fields(old: Settings, new: Settings) -> list[str]:
    """Dotted keys whose values differ (presets compare as one key, "presets")."""
    changed: list[str] = []
    for group_field, group_cls in _fields(Settings):
        a, b = getattr(old, group_field.name), getattr(new, group_field.name)
        if _is_group(group_cls):
            changed += [_join(group_field.name, f.name) for f in dataclasses.fields(a)
                        if getattr(a, f.name) != getattr(b, f.name)]
        elif a != b:
            changed.append(group_field.name)
    return changed


def save_preset(settings: Settings, name: str) -> Settings:
    """Save the current generation settings as preset `name` (replacing one of that name)."""
    new = GenerationPreset(name.strip(), settings.generation)
    old = settings.preset(name)
    presets = tuple(new if p is old else p for p in settings.presets) if old else (
        *settings.presets, new)
    return dataclasses.replace(settings, presets=presets)


def apply_preset(settings: Settings, name: str) -> Settings:
    """Make preset `name` the generation settings."""
    preset = settings.preset(name)
    if preset is None:
        raise InvalidSettingError(f"There is no preset called {name!r}.")
    return dataclasses.replace(settings, generation=preset.generation)


def delete_preset(settings: Settings, name: str) -> Settings:
    """Remove preset `name` (no change if there is none)."""
    preset = settings.preset(name)
    return dataclasses.replace(settings, presets=tuple(p for p in settings.presets
                                                       if p is not preset))


# --- JSON, migrations ---------------------------------------------------------------------------

def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 called the follow-the-OS theme "auto"; v2 says "system", like the language setting."""
    appearance = data.get("appearance")
    if isinstance(appearance, dict) and appearance.get("theme") == "auto":
        data = {**data, "appearance": {**appearance, "theme": "system"}}
    return data


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}
"""`MIGRATIONS[n]` turns a version-n file into version n+1. Each must accept any JSON object
(a hand-edited file can hold anything) and leave shapes it does not expect for validation."""


def to_json(settings: Settings) -> str:
    """The file's text: `schema_version` first, then every setting."""
    data = {"schema_version": SCHEMA_VERSION, **dataclasses.asdict(settings)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _kind(value: object) -> str:
    return {dict: "a group", list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _parse[G: _Group](cls: type[G], raw: object, prefix: str, warnings: list[str],
                      *, known_only: bool = False) -> G:
    """Build `cls` from JSON, keeping every valid value and defaulting (with a warning) the rest.

    `known_only` skips the unknown-key warning: a newer Hearth's file is expected to have them.
    """
    if not isinstance(raw, dict):
        warnings.append(f"{prefix or 'settings'}: expected a group of settings, found "
                        f"{_kind(raw)}; using the defaults")
        return cls()
    values: dict[str, Any] = {}
    for f, hint in _fields(cls):
        if f.name not in raw:
            continue  # settings added since the file was written take their defaults silently
        key, item = _join(prefix, f.name), raw[f.name]
        if _is_group(hint):
            values[f.name] = _parse(hint, item, key, warnings, known_only=known_only)
        elif get_origin(hint) is tuple:
            values[f.name] = _parse_presets(item, key, warnings, known_only=known_only)
        else:
            try:
                values[f.name] = _check(item, hint, f.metadata["spec"], key)
            except InvalidSettingError as exc:
                warnings.append(f"{exc}; using the default, {_show(f.default)}")
    if not known_only:
        warnings += [f"{_join(prefix, str(k))}: unknown setting, ignored"
                     for k in raw if k not in {f.name for f, _ in _fields(cls)}]
    return cls(**values)


_PRESET_NAME: Spec = next(f.metadata["spec"] for f in dataclasses.fields(GenerationPreset)
                          if f.name == "name")


def _parse_presets(raw: object, key: str, warnings: list[str],
                   *, known_only: bool) -> tuple[GenerationPreset, ...]:
    if not isinstance(raw, list):
        warnings.append(f"{key}: expected a list, found {_kind(raw)}; no presets loaded")
        return ()
    presets: list[GenerationPreset] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            warnings.append(f"{key}[{i}]: expected a preset, found {_kind(item)}; dropped")
            continue
        try:
            name = _check(item.get("name"), str, _PRESET_NAME, f"{key}[{i}].name")
        except InvalidSettingError as exc:
            warnings.append(f"{exc}; preset dropped")
            continue
        if name.strip().casefold() in names or len(presets) >= MAX_PRESETS:
            warnings.append(f"{key}[{i}]: preset {_show(name)} is a duplicate or one too many; "
                            "dropped")
            continue
        presets.append(_parse(GenerationPreset, item, f"{key}[{i}]", warnings,
                              known_only=known_only))
        names.add(name.strip().casefold())
    return tuple(presets)


def from_json(data: object) -> tuple[Settings, list[str], int | None]:
    """Settings from a parsed JSON document, never raising on bad content.

    Returns the settings, warnings for the user, and the file's schema version when it is newer
    than `SCHEMA_VERSION` (else None).
    """
    warnings: list[str] = []
    if not isinstance(data, dict):
        warnings.append(f"The settings file holds {_kind(data)}, not settings; using the "
                        "defaults")
        return Settings(), warnings, None
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        warnings.append(f"schema_version: {_show(version)} is not a version number; read as "
                        "version 1")
        version = 1
    newer = version > SCHEMA_VERSION
    if newer:
        warnings.append(f"The settings file was written by a newer Hearth (format {version}; "
                        f"this one reads {SCHEMA_VERSION}). Settings it added are ignored, and "
                        "the file is kept unchanged unless you change a setting.")
    body = {k: v for k, v in data.items() if k != "schema_version"}
    for from_version in range(version, SCHEMA_VERSION):
        body = MIGRATIONS[from_version](body)
    settings = _parse(Settings, body, "", warnings, known_only=newer)
    return settings, warnings, version if newer else None


# --- The store ----------------------------------------------------------------------------------

def _timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _reason(exc: OSError) -> str:
    """Why a file operation failed, in words a user can act on."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is read-only or not writable"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file is in the way where a folder should be"
    return exc.strerror or str(exc)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never half.

    The temp file is in the same folder because `os.replace` is only atomic within one file
    system. Raises OSError; on failure no temp file is left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a folder, and NTFS journals
    # the rename anyway.
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_copy(path: Path, data: bytes, label: str) -> Path:
    """Write `data` next to `path` as `<name>.<label>-<timestamp>` unless an identical copy
    with that label exists (so a bad file is backed up once, not at every start)."""
    for old in path.parent.glob(f"{path.name}.{label}-*"):
        with contextlib.suppress(OSError):
            if old.stat().st_size == len(data) and old.read_bytes() == data:
                return old
    stamp = _timestamp()
    for n in range(100):
        target = path.with_name(f"{path.name}.{label}-{stamp}" + (f"-{n}" if n else ""))
        try:
            with target.open("xb") as f:
                f.write(data)
        except FileExistsError:
            continue
        return target
    raise FileExistsError(errno.EEXIST, "no free backup name", str(path))


class SettingsStore:
    """Loads and saves `Settings` in `<config>/settings.json`.

    Not thread-safe; use it from the GUI thread (or the CLI). After `load`, `save` skips writing
    over a newer Hearth's file (or one it could not read) until the settings change.
    """

    def __init__(self, paths: AppPaths) -> None:
        self.paths = paths
        self._loaded: Settings | None = None
        self._protect = False
        self._newer: tuple[bytes, int] | None = None
        """A newer Hearth's file as loaded, copied aside before this version overwrites it."""

    @property
    def path(self) -> Path:
        """The settings file."""
        return self.paths.config / SETTINGS_FILE

    def load(self) -> tuple[Settings, list[str]]:
        """Read the settings; never raises for a missing, unreadable or broken file.

        Returns the settings and warnings for the user (empty when all is well). A broken file
        is copied to `settings.json.bad-<timestamp>` and a warning says where.
        """
        self._loaded, self._protect, self._newer = None, False, None
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self._loaded = Settings()
            return self._loaded, []
        except OSError as exc:
            # Do not overwrite a file we could not even read (a permissions glitch, a folder
            # by that name) unless the user changes something.
            self._protect = True
            self._loaded = Settings()
            warning = (f"The settings in {self.path} could not be read ({_reason(exc)}); using "
                       "the defaults.")
            log.warning("%s", warning)
            return self._loaded, [warning]
        warnings: list[str] = []
        try:
            data = json.loads(raw.decode("utf-8-sig"))  # -sig: Notepad may add a BOM
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            warnings.append(f"The settings file is not valid JSON ({exc}); using the defaults")
            settings, newer = Settings(), None
        else:
            settings, warnings, newer = from_json(data)
        self._loaded = settings
        if newer is not None:
            # Values this version rejects may be valid there, so no "bad" copy either.
            self._protect, self._newer = True, (raw, newer)
        elif warnings:
            try:
                backup = _keep_copy(self.path, raw, "bad")
            except OSError as exc:
                warnings.append(f"A copy of the broken file could not be kept ({_reason(exc)}).")
            else:
                warnings.append(f"The original file was kept as {backup}.")
        for warning in warnings:
            log.warning("settings: %s", warning)
        return settings, warnings

    def save(self, settings: Settings) -> bool:
        """Write `settings` atomically; returns False if it was left alone (see the class).

        Raises SettingsError when the folder is read-only, full, or not a folder; the caller's
        settings stay in effect in memory.
        """
        if self._protect and settings == self._loaded:
            return False
        try:
            if self._newer is not None:
                raw, version = self._newer
                _keep_copy(self.path, raw, f"v{version}")
            write_atomic(self.path, to_json(settings).encode("utf-8"))
        except OSError as exc:
            raise SettingsError(
                f"Settings could not be saved in {self.path.parent}: {_reason(exc)}. Your "
                "changes apply until Hearth closes; free some space or make the folder "
                "writable, then apply them again.", detail=f"{type(exc).__name__}: {exc}"
            ) from exc
        self._loaded, self._protect, self._newer = settings, False, None
        log.info("settings saved to %s", self.path)
        return True

    def data_dir(self, settings: Settings) -> Path:
        """The data folder in use: the setting, else the platform default (`paths.data`)."""
        return Path(settings.data.data_dir).expanduser() if settings.data.data_dir \
            else self.paths.data

    def move_data_dir(self, settings: Settings, dst: str | os.PathLike[str],
                      progress: Callable[[int, int], None] | None = None,
                      cancel: Cancellable | None = None) -> Settings | None:
        """Copy the data folder to `dst`, verify it, then save `dst` as `data.data_dir`.

        Returns the saved settings, or None when cancelled (nothing is recorded and the partial
        copy is removed). The old folder stays where it was for the user to delete; Hearth uses
        the new one from its next start. Raises SettingsError (see `copy_data_dir`).
        """
        report = copy_data_dir(self.data_dir(settings), dst, progress, cancel)
        if not report.completed:
            return None
        new = update(settings, {"data.data_dir": str(report.destination)})
        try:
            self.save(new)
        except SettingsError as exc:
            raise SettingsError(
                f"The data was copied to {report.destination}, but the new location could not "
                f"be recorded: {exc.user_message}", detail=exc.detail) from exc
        return new


def resolve_paths(paths: AppPaths, settings: Settings) -> tuple[AppPaths, list[str]]:
    """`paths` with the data folder from the settings, plus a warning if it is missing.

    A missing folder (an unplugged drive) falls back to the default rather than creating an
    empty one in its place, so nothing appears to be lost and nothing is written there.
    Call it only when no --data-dir/$HEARTH_DATA_DIR override is in force: the override wins.
    """
    if not settings.data.data_dir:
        return paths, []
    folder = Path(settings.data.data_dir).expanduser()
    if not folder.is_dir():
        return paths, [f"The data folder {folder} is not available (a removed drive?); using "
                       f"{paths.data} until it is back."]
    return dataclasses.replace(paths, data=folder), []


# --- Moving the data folder ---------------------------------------------------------------------

@dataclass(frozen=True)
class DataCopy:
    """What `copy_data_dir` did."""

    source: Path
    destination: Path
    files: int
    bytes: int
    completed: bool
    """False when cancelled (the partial copy was removed)."""


_SPACE_MARGIN = 64 * 1024 * 1024
"""Room to leave on the destination: a disk filled to the last byte breaks other programs."""


def _scan(source: Path) -> tuple[list[Path], list[tuple[Path, int]], list[Path]]:
    """Folders, files with sizes, and symlinks under `source`, relative to it."""
    folders: list[Path] = []
    files: list[tuple[Path, int]] = []
    links: list[Path] = []

    def fail(exc: OSError) -> None:
        raise exc

    for root, dirnames, filenames in os.walk(source, onerror=fail):
        base = Path(root)
        for name in list(dirnames):
            if (base / name).is_symlink():
                # os.walk does not descend into folder links; copy the link itself.
                dirnames.remove(name)
                links.append((base / name).relative_to(source))
            else:
                folders.append((base / name).relative_to(source))
        for name in filenames:
            path = base / name
            if path.is_symlink():
                links.append(path.relative_to(source))
            else:
                files.append((path.relative_to(source), path.stat().st_size))
    return folders, files, links


def _copy_file(src: Path, dst: Path, on_chunk: Callable[[int], None],
               cancel: Cancellable | None) -> None:
    """Copy one file, then read the copy back and compare it with what was read."""
    size, digest = copy_file_hashed(src, dst, on_chunk, cancel)
    # Hashing what was read (not the source file afterwards) keeps a log file that grows during
    # the copy from failing the check, while still catching a copy that differs from its read.
    if dst.stat().st_size != size or sha256_file(dst) != digest:
        raise SettingsError(f"The copy of {src.name} does not match the original (a failing "
                            "drive?). Nothing was changed; try another folder.")


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _remove_copy(target: Path, created: bool) -> None:
    if created:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():  # the folder was empty before: everything here is ours
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                child.unlink()


def copy_data_dir(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                  progress: Callable[[int, int], None] | None = None,
                  cancel: Cancellable | None = None) -> DataCopy:
    """Copy the data folder `src` into `dst` and verify every file (size and SHA-256).

    `dst` must be a full path outside `src`, and missing or empty; the drive needs room for all
    of `src` plus a margin. `progress(bytes_done, bytes_total)` is called as data is copied;
    `cancel` is polled between 1 MB chunks. On cancel the partial copy is removed and the
    result has `completed=False`. `src` itself is never changed.

    Raises SettingsError with a message for the user; the partial copy is removed then too.
    """
    target = Path(dst).expanduser()
    if not target.is_absolute():
        raise SettingsError(f"Choose a full path for the new data folder, not {str(dst)!r}.")
    source, target = Path(src).expanduser().resolve(), target.resolve()
    if target == source or target.is_relative_to(source):
        raise SettingsError(f"The new data folder cannot be inside the current one ({source}).")
    try:
        if target.exists() and not target.is_dir():
            raise SettingsError(f"{target} is a file, not a folder.")
        if target.is_dir() and any(target.iterdir()):
            raise SettingsError(f"{target} is not empty. Choose an empty or new folder, so "
                                "nothing in it is overwritten.")
        folders, files, links = _scan(source) if source.is_dir() else ([], [], [])
        total = sum(size for _, size in files)
        free = shutil.disk_usage(_nearest_existing(target)).free
    except OSError as exc:
        raise SettingsError(f"The data folder could not be prepared for moving: "
                            f"{_reason(exc)} ({exc.filename}).") from exc
    if total + _SPACE_MARGIN > free:
        raise SettingsError(
            f"Not enough free space at {target}: the data needs {total / 1e9:.2f} GB and "
            f"{free / 1e9:.2f} GB is free.")

    created = not target.exists()
    done = 0

    def on_chunk(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    try:
        target.mkdir(parents=True, exist_ok=True)
        for folder in folders:
            (target / folder).mkdir()
        for rel, _ in files:
            _copy_file(source / rel, target / rel, on_chunk, cancel)
        for rel in links:
            os.symlink(os.readlink(source / rel), target / rel,
                       target_is_directory=(source / rel).is_dir())
    except Cancelled:
        _remove_copy(target, created)
        log.info("moving the data folder to %s cancelled", target)
        return DataCopy(source, target, 0, 0, completed=False)
    except OSError as exc:
        _remove_copy(target, created)
        raise SettingsError(f"The data could not be copied to {target}: {_reason(exc)}. "
                            "Nothing was changed.", detail=f"{exc}") from exc
    except SettingsError:
        _remove_copy(target, created)
        raise
    log.info("copied the data folder %s to %s (%d files, %d bytes, verified)", source, target,
             len(files), total)
    return DataCopy(source, target, len(files), total, completed=True)

