"""Where Hearth keeps its files (platformdirs), with an override for tests and portable use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Hearth"
DATA_DIR_ENV = "HEARTH_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    """The app's folders. `from_env` resolves them; nothing is created until `ensure` is called."""

    data: Path
    config: Path
    logs: Path
    cache: Path

    @property
    def models(self) -> Path:
        """Where downloaded and imported models live."""
        return self.data / "models"

    @classmethod
    def from_env(cls, data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
        """Resolve the folders: an explicit `data_dir`, else $HEARTH_DATA_DIR, else the OS defaults.

        With an override every folder lives under it, so a test or a USB-stick install never
        touches the user's real folders.
        """
        override = data_dir or os.environ.get(DATA_DIR_ENV)
        if override:
            root = Path(override).expanduser().resolve()
            return cls(data=root, config=root / "config", logs=root / "logs", cache=root / "cache")
        # appauthor=False keeps Windows paths as %LOCALAPPDATA%\Hearth rather than Hearth\Hearth.
        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False, roaming=False)
        return cls(
            data=Path(dirs.user_data_dir),
            config=Path(dirs.user_config_dir),
            logs=Path(dirs.user_log_dir),
            cache=Path(dirs.user_cache_dir),
        )

    def ensure(self) -> AppPaths:
        """Create the folders if missing; returns self for chaining."""
        for folder in (self.data, self.config, self.logs, self.cache, self.models):
            folder.mkdir(parents=True, exist_ok=True)
        return self
