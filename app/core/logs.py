"""Logging to a rotating file in the app's log folder (never prints; never logs secrets)."""

from __future__ import annotations

import logging
import logging.handlers

from app.core.paths import AppPaths


def setup_logging(paths: AppPaths, level: int = logging.INFO) -> None:
    """Send the app's log records to logs/hearth.log (1 MB x 3)."""
    try:
        paths.logs.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            paths.logs / "hearth.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        # A read-only or full data folder must not stop the app from starting.
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root = logging.getLogger("app")
    root.setLevel(level)
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
