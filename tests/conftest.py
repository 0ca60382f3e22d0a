import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tofu_dir() -> Path:
    """The local TOFU copy: $DAREU_TOFU_DIR, else <repo>/../shared/data/tofu. Missing = failure."""
    env = os.environ.get("DAREU_TOFU_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "data" / "tofu"
    if not (path / "full.json").is_file():
        pytest.fail(f"TOFU data not found at {path} (no full.json). Set DAREU_TOFU_DIR to a folder "
                    "of TOFU JSON Lines files laid out like locuslab/TOFU.", pytrace=False)
    return path
