"""Atomic writes and the run directory's summary.json: a stopped run never leaves half a file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dareu.errors import EnvironmentProblem


def _tmp_sibling(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, then rename: readers see old or new, never half."""
    path = Path(path)
    try:
        tmp = _tmp_sibling(path)
        try:
            tmp.write_text(text)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as e:
        raise EnvironmentProblem(f"cannot write {path}: {e.strerror or e}. Check that the output "
                                 "directory is writable and the disk is not full.") from e


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_json(path: str | Path, default: Any = None) -> Any:
    path = Path(path)
    if not path.exists():
        return default
    return json.loads(path.read_text())


@contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside `final`; on success it replaces `final` in one rename."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as e:
        raise EnvironmentProblem(f"cannot create a folder in {final.parent}: {e.strerror or e}. "
                                 "Check that the output directory is writable.") from e
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except OSError as e:
        raise EnvironmentProblem(f"cannot write {final}: {e.strerror or e}. Check that the "
                                 "output directory is writable and the disk is not full.") from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def update_summary(output_dir: str | Path, model: str, metrics: dict[str, Any]) -> dict:
    """Merge `metrics` into summary.json under models[model] (atomic read-modify-write)."""
    path = Path(output_dir) / "summary.json"
    summary = read_json(path, default={}) or {}
    summary.setdefault("models", {}).setdefault(model, {}).update(metrics)
    atomic_write_json(path, summary)
    return summary
