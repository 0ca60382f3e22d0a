"""Owner corpora from the user's own files: JSON Lines, CSV, or a Hugging Face dataset id.

Each row names its owner and holds a prompt and a response (field names from `DataConfig`), or, in
document mode, one text that is cut into a prompt (its first `prompt_words` words) and a response
(the rest). Optional columns: `id` (record id), `paraphrased_response`, a reworded prompt
(`paraphrased_prompt`, or the column `paraphrased_prompt_field` names; the paraphrase attack asks
it) and `perturbed_responses` (a list, or in CSV a JSON-encoded list) for the truth-ratio evaluation, and
the `split_field` column whose value `holdout` makes a row a holdout record (an owner never trained
on) and `test` a general test question (owner-free; set `test`).
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from dareu.config import DataConfig
from dareu.data.aliases import infer_aliases
from dareu.data.corpus import GENERAL_OWNER, OwnerCorpus, Record, split_owners
from dareu.errors import DataError

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.\-]*/[\w.\-]+")
_JSON_EXT = (".jsonl", ".json", ".ndjson")
_CSV_EXT = {".csv": ",", ".tsv": "\t"}


def _json_rows(file: Path, text: str) -> Iterator[tuple[str, dict]]:
    lines = text.splitlines()
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is not None and file.suffix == ".json" and lines[first].lstrip().startswith("["):
        try:                                     # a .json file may be one JSON array
            rows = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{file}: not valid JSON ({e.msg} at line {e.lineno}, column "
                            f"{e.colno}); expected a JSON array of objects or one JSON object per "
                            "line.") from None
        if not isinstance(rows, list):
            raise DataError(f"{file}: expected a JSON array of objects.")
        for i, row in enumerate(rows, 1):
            yield f"{file} item {i}", row
        return
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{file} line {n}: not valid JSON ({e.msg} at column {e.colno}); "
                            "expected one JSON object per line.") from None
        yield f"{file} line {n}", row


def _csv_rows(file: Path, text: str, delimiter: str) -> Iterator[tuple[str, dict]]:
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter)
    if not reader.fieldnames:
        raise DataError(f"{file} is empty: expected a header row and data rows.")
    for i, row in enumerate(reader, 1):
        if None in row:                          # more cells than header columns
            cells = len(row) - 1 + len(row[None])
            raise DataError(f"{file} row {i} (line {reader.line_num}) has {cells} cells but the "
                            f"header has {len(reader.fieldnames)} columns.")
        yield f"{file} row {i} (line {reader.line_num})", row


def _hub_rows(name: str) -> Iterator[tuple[str, dict]]:
    try:
        import datasets
    except ImportError:
        raise DataError(f"data.path `{name}` is neither a file nor a folder here; reading it as a "
                        "Hugging Face dataset id needs the `datasets` package: pip install datasets "
                        "(or pip install 'dareu[hub]').") from None
    try:
        ds = datasets.load_dataset(name, split="train")
    except Exception as e:  # network, unknown dataset, ...: one paragraph for the user
        raise DataError(f"could not load the train split of hub dataset `{name}`: {e}") from None
    for i, row in enumerate(ds, 1):
        yield f"{name} row {i}", dict(row)


def _rows(path: str) -> list[tuple[str, dict]]:
    """(location, row) pairs; the location names the file and line / row for error messages."""
    file = Path(path).expanduser()
    if not file.exists():
        if path.startswith(("/", ".", "~")) or not _HUB_ID.fullmatch(path) or file.suffix.lower() \
                in (*_JSON_EXT, *_CSV_EXT):
            raise DataError(f"data file {path} not found: expected a .jsonl/.json/.csv/.tsv file "
                            "or a Hugging Face dataset id (owner/name).")
        rows = list(_hub_rows(path))
    else:
        if file.is_dir():
            raise DataError(f"data.path {path} is a folder: expected a .jsonl/.json/.csv/.tsv file.")
        ext = file.suffix.lower()
        if ext not in (*_JSON_EXT, *_CSV_EXT):
            raise DataError(f"data file {path}: unknown extension `{ext}`; expected .jsonl, "
                            ".json (JSON Lines or a JSON array), .csv or .tsv.")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            raise DataError(f"data file {path} is not UTF-8 text ({e.reason} at byte "
                            f"{e.start}).") from None
        if not text.strip():
            raise DataError(f"data file {path} is empty: expected one record per "
                            f"{'line' if ext in _JSON_EXT else 'row'}.")
        rows = list(_json_rows(file, text) if ext in _JSON_EXT
                    else _csv_rows(file, text, _CSV_EXT[ext]))
    if not rows:
        raise DataError(f"data file {path} has no records.")
    for where, row in rows:
        if not isinstance(row, dict):
            raise DataError(f"{where}: a {type(row).__name__}; expected an object with fields.")
    return rows


def _get(row: dict, key: str, where: str, what: str) -> str:
    v = row.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        state = "is empty" if key in row else "is missing"
        raise DataError(f"{where}: field `{key}` ({what}) {state}; the row has fields "
                        f"{sorted(str(k) for k in row if k is not None)}. Set data.{what}_field to "
                        "the column that holds it.")
    return str(v)


def _perturbed(v: Any, where: str) -> tuple[str, ...]:
    if v is None or v == "":
        return ()
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except json.JSONDecodeError:
            raise DataError(f"{where}: `perturbed_responses` must be a list (in CSV, a JSON-encoded "
                            f"list such as [\"wrong 1\", \"wrong 2\"]); got {v[:60]!r}.") from None
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise DataError(f"{where}: `perturbed_responses` must be a list of strings.")
    return tuple(v)


def _opt(row: dict, key: str) -> str | None:
    v = row.get(key)
    return str(v) if v not in (None, "") else None


def files_corpus(cfg: DataConfig, seed: int = 0) -> OwnerCorpus:
    """The corpus in `cfg.path`; `seed` is unused (the order of the file is kept)."""
    del seed
    if not cfg.path:
        raise DataError("data.source=files needs data.path: a .jsonl/.json/.csv file or a Hugging "
                        "Face dataset id.")
    rows = _rows(cfg.path)
    train: list[Record] = []
    holdout: list[Record] = []
    test: list[Record] = []
    skipped = 0
    for i, (where, row) in enumerate(rows):
        kind = ""
        if cfg.split_field:
            kind = str(row.get(cfg.split_field) or "").strip().lower()
        owner = GENERAL_OWNER if kind == "test" else _get(row, cfg.owner_field, where, "owner")
        if cfg.document_mode:
            text = _get(row, cfg.text_field, where, "text")
            words = list(re.finditer(r"\S+", text))
            if len(words) <= cfg.prompt_words:
                skipped += 1
                continue
            prompt = text[words[0].start():words[cfg.prompt_words - 1].end()]
            response = text[words[cfg.prompt_words].start():].rstrip()
        else:
            prompt = _get(row, cfg.prompt_field, where, "prompt")
            response = _get(row, cfg.response_field, where, "response")
        rid = _opt(row, "id") or f"row-{i}"
        rec = Record(id=rid, owner=owner, prompt=prompt, response=response,
                     paraphrased_response=_opt(row, "paraphrased_response"),
                     perturbed_responses=_perturbed(row.get("perturbed_responses"), where),
                     paraphrased_prompt=_opt(row, cfg.paraphrased_prompt_field))
        (holdout if kind == "holdout" else test if kind == "test" else train).append(rec)

    if skipped:
        if skipped == len(rows):
            raise DataError(f"data file {cfg.path}: all {skipped} documents have at most "
                            f"data.prompt_words={cfg.prompt_words} words, so none leaves a response; "
                            "lower data.prompt_words or use longer documents.")
        log.warning("%s: skipped %d of %d documents with at most %d words (no response left).",
                    cfg.path, skipped, len(rows), cfg.prompt_words)
    dup = [k for k, n in Counter(r.id for r in [*train, *holdout, *test]).items() if n > 1]
    if dup:
        raise DataError(f"data file {cfg.path}: duplicate record ids {dup[:10]}; every `id` must "
                        "be unique.")
    if not train:
        raise DataError(f"data file {cfg.path}: no training rows (every row is marked holdout or "
                        f"test in `{cfg.split_field}`).")
    owners = list(dict.fromkeys(r.owner for r in train))
    both = sorted({r.owner for r in holdout} & set(owners))
    if both:
        raise DataError(f"data file {cfg.path}: owners {both[:10]} have both training and holdout "
                        "rows; holdout owners must never be trained on.")
    forget, retain = split_owners(owners, cfg.forget_owners, cfg.num_forget_owners,
                                  cfg.max_retain_owners)
    keep = set(forget) | set(retain)
    grouped: dict[str, list[Record]] = {}
    for r in [*train, *holdout]:
        grouped.setdefault(r.owner, []).append(r)
    file = Path(cfg.path)
    return OwnerCorpus(name=file.stem if file.exists() else cfg.path,
                       records=[r for r in train if r.owner in keep], forget_owners=forget,
                       retain_owners=retain, holdout=holdout,
                       test_sets={"test": test} if test else {},
                       aliases=infer_aliases(grouped),
                       spare=[r for r in train if r.owner not in keep])
