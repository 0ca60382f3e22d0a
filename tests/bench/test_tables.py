"""bench/tables.py: every generated table in README.md and docs/ matches the rows in bench/results/."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("tables", REPO / "bench" / "tables.py")
tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tables)


def test_every_document_table_is_what_its_rows_give():
    stale = [str(p.relative_to(REPO)) for p, text in tables.documents().items() if p.read_text() != text]
    assert not stale, f"run `python bench/tables.py`: out of date: {stale}"


def test_every_table_is_used_by_a_document_and_every_rows_folder_by_a_table():
    text = "".join(p.read_text() for p in tables.DOCS if p.exists())
    used = set(m.group(2) for m in tables.BLOCK.finditer(text))
    assert used == set(tables.TABLES)
    cited = {p.name for p in tables.SWEEPS.iterdir() if f"sweeps/{p.name}/" in text}
    assert cited == {p.name for p in tables.SWEEPS.iterdir() if p.is_dir()}


def test_a_block_is_rewritten_and_an_unknown_name_fails():
    out = tables.rewrite("x\n<!-- table bench-memory -->\nold\n<!-- /table -->\ny\n")
    assert "| qlora |" in out and "old" not in out and out.endswith("<!-- /table -->\ny\n")
    assert tables.rewrite(out) == out  # stable
    with pytest.raises(SystemExit, match="unknown table 'nope'"):
        tables.rewrite("<!-- table nope -->\n<!-- /table -->")


def test_the_readme_quickstart_table_is_what_run_prints_for_its_summary(tmp_path):
    """Rebuild a summary.json from the README's table: `tables.py run` prints the same lines."""
    readme = (REPO / "README.md").read_text()
    start = readme.index("| model | ToW vs oracle")
    lines = readme[start:readme.index("\n\n", start)].splitlines()
    keys = [k for k, _ in tables.RUN_COLUMNS]
    models = {"attributor": {"heldout_accuracy": 1.0}}
    for line in lines[2:]:
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        models[cells[0]] = {k: float(v) for k, v in zip(keys, cells[1:])}
    del models["oracle"]["tow"]  # the oracle has no ToW of its own: the table shows 1.000
    (tmp_path / "summary.json").write_text(json.dumps({"models": models}))
    assert tables.run_table(tmp_path) == "\n".join(lines)
