"""Fingerprints that tell whether a model changed since it was last evaluated."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch


def folder_fingerprint(path: str | Path) -> str:
    """Hash of a folder's file names, sizes and modification times (cheap: no file is read).

    Stages write models atomically, so rerunning the stage that produced a model changes this;
    a hub id (not a local folder) is its own fingerprint.
    """
    p = Path(path)
    if not p.exists():
        return f"id:{path}"
    h = hashlib.sha256()
    for f in sorted(q for q in p.rglob("*") if q.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(p)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


@torch.no_grad()
def weights_fingerprint(model: torch.nn.Module) -> str:
    """Hash of each parameter's sum and sum of squares: for a model that lives in no folder."""
    h = hashlib.sha256()
    for name, p in model.named_parameters():
        x = p.detach().double()
        h.update(f"{name}|{tuple(p.shape)}|{x.sum().item():.12e}|{(x * x).sum().item():.12e}\n".encode())
    return h.hexdigest()[:16]
