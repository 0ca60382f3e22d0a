"""Hub ids wherever a model folder is accepted: a hub id resolves to its snapshot folder in the
Hugging Face cache (downloaded once; offline afterwards, e.g. with HF_HUB_OFFLINE=1), so every
stage, attributor and fingerprint sees a local folder."""

from __future__ import annotations

import os
from pathlib import Path

from dareu.errors import ModelError

# what loading a causal LM and its tokenizer reads; pickle weights only when the user allows them
SAFE_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.jinja"]
PICKLE_FILES = ["*.bin", "*.pt", "*.pth"]


def is_hub_id(path: str | Path) -> bool:
    """`org/name` that is not an existing or explicitly local path."""
    p = str(path)
    return bool(p) and not (os.path.isabs(p) or p.startswith(".") or os.path.exists(p)) \
        and p.count("/") <= 1


def local_model_dir(path: str | Path, key: str, allow_pickle: bool = False) -> Path:
    """`path` itself when local; the cached snapshot folder of a hub id (downloading what is
    missing unless offline). A ModelError names `key` when neither works."""
    if not is_hub_id(path):
        return Path(path)
    from huggingface_hub import snapshot_download

    patterns = SAFE_FILES + (PICKLE_FILES if allow_pickle else [])
    try:
        return Path(snapshot_download(str(path), allow_patterns=patterns))
    except Exception as e:  # offline without a cached copy, unknown repo, gated repo, ...
        if isinstance(e, (KeyboardInterrupt, MemoryError)):
            raise
        from huggingface_hub import constants

        raise ModelError(f"{key}={path!r} is not a local folder, and the hub id is neither in the "
                         f"Hugging Face cache ({constants.HF_HUB_CACHE}) nor downloadable here "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). Download "
                         "it once with network access (`hf download ID`), point HF_HOME / "
                         "HF_HUB_CACHE at the cache that holds it, or give a local folder.") from None
