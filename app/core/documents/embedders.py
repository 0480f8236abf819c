"""Where the installed document-search embedder lives, for code that runs without Qt.

The models pane (`app.workers.models.ModelManager`) downloads the catalog's embedders into
`<models>/embedders/<id>`; the command line and other core callers find them here with the same
rule, without importing the Qt worker.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.core.errors import AppError
from app.core.paths import AppPaths

log = logging.getLogger(__name__)

EMBEDDERS_DIR = "embedders"
"""Document-search models live in `<models>/embedders/<id>`, apart from the chat models."""


def embedder_dest(paths: AppPaths, embedder_id: str) -> Path:
    """Where the catalog embedder `embedder_id` is (or will be) installed."""
    return paths.models / EMBEDDERS_DIR / embedder_id


def default_embedder_folder(paths: AppPaths) -> Path | None:
    """The folder of the catalog's default embedder (its first) when it is downloaded, else None
    (no catalog embedder, not downloaded, or the catalog cannot be read: search is then lexical,
    which is never an error)."""
    from app.core.catalog import load_catalog

    try:
        catalog = load_catalog()
    except AppError as exc:
        log.warning("no default embedder: %s", exc.user_message)
        return None
    if not catalog.embedders:
        return None
    folder = embedder_dest(paths, catalog.embedders[0].id)
    return folder if folder.is_dir() else None
