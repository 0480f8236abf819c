"""Test helper: download a model in a child process, which the test kills with SIGKILL.

Usage: `python -m tests.download_child REPO SUBFOLDER DEST` with HF_ENDPOINT pointing at a
`tests.hub_server.HubServer`: it exercises huggingface_hub's own reading of HF_ENDPOINT.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.core.downloads import download_model, plan_download


def main() -> None:
    repo, subfolder, dest = sys.argv[1:4]
    plan = plan_download(repo, subfolder)
    print(f"planned {plan.total_bytes}", flush=True)
    download_model(plan, Path(dest))
    print("done", flush=True)


if __name__ == "__main__":
    main()
