"""TOFU (Task of Fictitious Unlearning, Maini et al. 2024) as an owner corpus.

`full` holds 200 fictitious authors x 20 QA pairs, ordered by author, so the owner of row i is
author i // 20. The forget split (forget01 / forget05 / forget10) is the last 2 / 10 / 20 authors;
its authors are found by matching the split's rows to `full`, not assumed. The data comes from a
local folder laid out like the hub dataset (one JSON object per line, `<name>.json`) or from the
hub id itself (`locuslab/TOFU`) through `datasets`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from dareu.data.aliases import infer_aliases, looks_like_person_name, lowercase_words
from dareu.data.corpus import GENERAL_OWNER, OwnerCorpus, Record, split_owners
from dareu.errors import DataError

AUTHOR_ROWS = 20
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.\-]*/[\w.\-]+")
_LAYOUT = "a folder laid out like the hub dataset locuslab/TOFU (full.json, forget10.json, " \
          "forget10_perturbed.json, retain_perturbed.json, holdout10.json, ...), or a hub id"


def _is_local(path: str) -> bool:
    p = Path(path).expanduser()
    if p.is_dir():
        return True
    if p.exists():
        raise DataError(f"TOFU path {path} is a file; expected {_LAYOUT}.")
    if path.startswith(("/", ".", "~")) or not _HUB_ID.fullmatch(path):
        raise DataError(f"TOFU folder {path} does not exist; expected {_LAYOUT}.")
    return False


def _read_jsonl(file: Path) -> list[dict]:
    text = file.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):          # tolerate a JSON array too
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{file}: not valid JSON ({e.msg} at line {e.lineno}); expected one "
                            "JSON object per line.") from None
    else:
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise DataError(f"{file}:{n}: not valid JSON ({e.msg}); expected one JSON object "
                                "per line.") from None
    for n, r in enumerate(rows, 1):
        if not isinstance(r, dict):
            raise DataError(f"{file}: row {n} is a {type(r).__name__}; expected a JSON object.")
    return rows


def _read_split(path: str, name: str) -> list[dict]:
    """Rows of TOFU config `name`: `<path>/<name>.json` (JSON Lines) or the hub dataset's config."""
    if _is_local(path):
        file = Path(path).expanduser() / f"{name}.json"
        if not file.is_file():
            raise DataError(f"TOFU file {file} not found: expected {_LAYOUT}.")
        return _read_jsonl(file)
    try:
        import datasets
    except ImportError:
        raise DataError(f"reading TOFU from the hub id `{path}` needs the `datasets` package: "
                        "pip install datasets (or pip install 'dareu[hub]'), or point data.path "
                        "at a local folder of TOFU JSON files.") from None
    try:
        ds = datasets.load_dataset(path, name, split="train")
    except Exception as e:  # network, unknown config, ...: one paragraph for the user
        raise DataError(f"could not load config `{name}` of hub dataset `{path}`: {e}") from None
    return [dict(r) for r in ds]


def _field(row: dict, key: str, where: str) -> str:
    v = row.get(key)
    if not isinstance(v, str) or not v.strip():
        raise DataError(f"TOFU {where}: field `{key}` is missing or empty (the row has fields "
                        f"{sorted(row)}); expected a non-empty string.")
    return v


def _extras_index(rows: list[dict], full: list[dict]) -> tuple[dict, dict]:
    """Perturbed rows keyed by (question, answer), and by question alone where the question is
    unique both there and in full (full asks "What is the full name of the author?" twice)."""
    by_qa = {(r.get("question"), r.get("answer")): r for r in rows}
    count: dict = defaultdict(int)
    for r in [*rows, *full]:
        count[r.get("question")] += 1
    by_q = {r.get("question"): r for r in rows if count[r.get("question")] == 2}
    return by_qa, by_q


def _record(rid: str, owner: str, row: dict, where: str, extra: dict | None) -> Record:
    q, a = _field(row, "question", where), _field(row, "answer", where)
    if extra is None:
        return Record(id=rid, owner=owner, prompt=q, response=a)
    return Record(id=rid, owner=owner, prompt=q, response=a,
                  paraphrased_response=extra.get("paraphrased_answer") or None,
                  perturbed_responses=tuple(extra.get("perturbed_answer") or ()),
                  paraphrased_prompt=extra.get("paraphrased_question") or None)


def _test_set(path: str, name: str, prefix: str) -> list[Record]:
    # No paraphrase exists for these general questions: the answer itself stands in as the
    # "correct" option, so their truth ratio compares the answer with the perturbed ones, as
    # open-unlearning's normalised probability does on real_authors / world_facts.
    out = []
    for i, row in enumerate(_read_split(path, f"{name}_perturbed")):
        where = f"{name}_perturbed row {i + 1}"
        a = _field(row, "answer", where)
        out.append(Record(id=f"tofu-{prefix}-{i}", owner=GENERAL_OWNER,
                          prompt=_field(row, "question", where), response=a,
                          paraphrased_response=a,
                          perturbed_responses=tuple(row.get("perturbed_answer") or ())))
    return out


def _forget_authors(full: list[dict], split: str, rows: list[dict]) -> list[int]:
    index = {(r.get("question"), r.get("answer")): i for i, r in enumerate(full)}
    authors: dict[int, int] = {}
    for n, r in enumerate(rows, 1):
        i = index.get((r.get("question"), r.get("answer")))
        if i is None:
            raise DataError(f"TOFU {split} row {n} (question {r.get('question')!r}) is not a row "
                            "of full: the forget split must be a subset of full.")
        authors[i // AUTHOR_ROWS] = authors.get(i // AUTHOR_ROWS, 0) + 1
    partial = {a: n for a, n in authors.items()
               if n != min(AUTHOR_ROWS, len(full) - a * AUTHOR_ROWS)}
    if partial:
        raise DataError(f"TOFU {split} holds only some rows of authors {sorted(partial)} "
                        f"(rows per author: {partial}); expected all {AUTHOR_ROWS} rows of each "
                        "forget author.")
    return sorted(authors)


def _term_aliases(path: str, split: str, forget: list[str], records: list[Record],
                  texts: list[str]) -> dict[str, list[str]]:
    """Person-like names of `<split>_terms.json` (local folders only), given to the forget owner
    whose records, and no other owner's, contain them."""
    if not Path(path).expanduser().is_dir():
        return {}
    file = Path(path).expanduser() / f"{split}_terms.json"
    if not file.is_file():
        return {}
    try:
        terms = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{file}: not valid JSON ({e.msg} at line {e.lineno}); expected a JSON "
                        "array of strings.") from None
    if not isinstance(terms, list):
        raise DataError(f"{file}: expected a JSON array of strings, got {type(terms).__name__}.")
    common = lowercase_words(texts)
    owner_text: dict[str, str] = defaultdict(str)
    for r in records:
        owner_text[r.owner] += f"\n{r.prompt}\n{r.response}"
    out: dict[str, list[str]] = defaultdict(list)
    for t in terms:
        if not isinstance(t, str) or not looks_like_person_name(t.strip(), common):
            continue
        t = t.strip()
        if any(q + t in s for q in ('"', "“", "'", "‘") for s in owner_text.values()):
            continue                            # a quoted title ("Granite Glossary"), not a name
        holders = [o for o, s in owner_text.items() if t in s]
        if len(holders) == 1 and holders[0] in forget:
            out[holders[0]].append(t)
    return out


def tofu_corpus(path: str, split: str = "forget10", forget_owners: list[str] | None = None,
                max_retain_owners: int | None = None) -> OwnerCorpus:
    """TOFU with owners `author_000` .. `author_199`; forget owners = the authors of `split`.

    Records are `tofu-<row of full>`; forget rows (and retain rows of retain_perturbed) carry the
    paraphrased / perturbed answers; holdout = `holdoutXX` of the same size as the split; test sets
    `real_authors` and `world_facts`; aliases inferred from the records (plus person-like names of
    `<split>_terms.json` for the forget authors, when the folder has it).
    """
    if split not in ("forget01", "forget05", "forget10"):
        raise DataError(f"TOFU split {split!r}: expected forget01, forget05 or forget10.")
    full = _read_split(path, "full")
    if not full:
        raise DataError(f"TOFU full split at {path} is empty; expected 4000 rows.")
    owner_of = [f"author_{i // AUTHOR_ROWS:03d}" for i in range(len(full))]
    owners = list(dict.fromkeys(owner_of))

    split_rows = _read_split(path, split)
    if not split_rows:
        raise DataError(f"TOFU split {split} at {path} is empty.")
    split_authors = [owners[a] for a in _forget_authors(full, split, split_rows)]
    if forget_owners:
        forget, retain = split_owners(owners, list(forget_owners), 1, max_retain_owners)
    else:
        forget = split_authors
        retain = [o for o in owners if o not in set(forget)]
        if not retain:
            raise DataError(f"TOFU split {split} covers every author of full: no retain owner.")
        if max_retain_owners is not None:
            retain = retain[:max_retain_owners]

    by_qa, by_q = _extras_index(_read_split(path, f"{split}_perturbed")
                                + _read_split(path, "retain_perturbed"), full)
    keep = set(forget) | set(retain)
    all_records = []
    for i, row in enumerate(full):
        key = (row.get("question"), row.get("answer"))
        extra = by_qa.get(key) or by_q.get(key[0])
        all_records.append(_record(f"tofu-{i}", owner_of[i], row, f"full row {i + 1}", extra))

    holdout_name = "holdout" + split[len("forget"):]
    holdout = [_record(f"tofu-holdout-{i}", f"holdout_{i // AUTHOR_ROWS:03d}", row,
                       f"{holdout_name} row {i + 1}", None)
               for i, row in enumerate(_read_split(path, holdout_name))]
    test_sets = {"real_authors": _test_set(path, "real_authors", "real"),
                 "world_facts": _test_set(path, "world_facts", "world")}

    grouped: dict[str, list[Record]] = defaultdict(list)
    for r in [*all_records, *holdout]:
        grouped[r.owner].append(r)
    aliases = infer_aliases(grouped)
    texts = [t for r in all_records for t in (r.prompt, r.response)]
    for owner, names in _term_aliases(path, split, forget, all_records, texts).items():
        aliases[owner] = sorted(set(aliases.get(owner, [])) | set(names), key=lambda s: (-len(s), s))
    wanted = keep | {r.owner for r in holdout}
    return OwnerCorpus(name=f"tofu-{split}", records=[r for r in all_records if r.owner in keep],
                       forget_owners=forget, retain_owners=retain, holdout=holdout,
                       test_sets=test_sets,
                       aliases={o: a for o, a in aliases.items() if o in wanted},
                       spare=[r for r in all_records if r.owner not in keep])
