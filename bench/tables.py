"""Regenerate the result tables of README.md and docs/ from the rows kept in bench/results/.

    python bench/tables.py              # rewrite every generated table in place
    python bench/tables.py --check      # exit 1 when a document's table differs from its rows
    python bench/tables.py --show NAME  # print one table (names: --list)
    python bench/tables.py run RUN_DIR  # the headline table of one run's summary.json

A generated table sits in a document between `<!-- table NAME -->` and `<!-- /table -->`, which
closes the line under the table that names its rows. Edit the rows (or this script), not the table.

Rows:
- bench/results/sweeps/<corpus>-<date>/: `bench/method_sweep.py` output on one prepared run:
  results.jsonl (one row per method, setting and unlearning seed; `overrides` holds the setting's
  own overrides), references.json (target and oracle), sweep.json (recipe, the overrides every row
  shares, how the prepared run was made, machine, date, and which DareU setting is which);
- bench/results/reward-audit-*.json: `dareu bench reward-audit RUN_DIR`;
- bench/results/rl-step*.json, memory.json, gpu.json: `dareu bench rl-step | memory | gpu`;
- bench/results/attribution_lds.json: `python bench/attribution_lds.py` (docs/attribution.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import re
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SWEEPS = RESULTS / "sweeps"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SCRIPT = "`python bench/tables.py`"

NAMES = {"dareu": "DareU", "npo": "NPO", "simnpo": "SimNPO", "idkpo": "IdkPO",
         "grad_diff": "GradDiff", "grad_ascent": "GradAscent", "kl": "KL"}
BASELINES = ("npo", "simnpo", "idkpo", "grad_diff", "kl", "grad_ascent")


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------- method_sweep rows

class Sweep:
    """One bench/method_sweep.py output folder: rows, references and its sweep.json."""

    def __init__(self, name: str) -> None:
        self.name, self.dir = name, SWEEPS / name
        self.rows = [json.loads(line) for line in open(self.dir / "results.jsonl")]
        self.refs = json.loads((self.dir / "references.json").read_text())
        self.meta = json.loads((self.dir / "sweep.json").read_text())
        self.dareu = next(iter(self.meta["dareu"]))  # the setting shown as DareU

    def rel(self, file: str = "results.jsonl") -> str:
        return f"bench/results/sweeps/{self.name}/{file}"

    def group(self, method: str, setting: str, seeds=None) -> list[dict]:
        rs = [r for r in self.rows if r["method"] == method and r["setting"] == setting]
        rs = [r for r in rs if seeds is None or r["seed"] in seeds]
        return sorted(rs, key=lambda r: r["seed"])

    def best(self, method: str, seeds=None) -> str | None:
        """The baseline's best setting: most seeds, then highest mean ToW (bench/method_sweep.py)."""
        rows = [r for r in self.rows if r["method"] == method and (seeds is None or r["seed"] in seeds)]
        return _module("method_sweep").best_settings(rows).get(method) if rows else None

    def entries(self, seeds=None) -> list[tuple[str, str, list[dict]]]:
        """(method, setting, rows): DareU's setting, then each baseline at its best setting."""
        out = [("dareu", self.dareu, self.group("dareu", self.dareu, seeds))]
        for m in BASELINES:
            s = self.best(m, seeds)
            if s is not None:
                out.append((m, s, self.group(m, s, seeds)))
        return out

    def ranked(self) -> list[tuple[str, str, list[dict]]]:
        return sorted(self.entries(), key=lambda e: -mean(e[2], "tow"))


def mean(rows: list[dict], key: str) -> float:
    return statistics.mean(r[key] for r in rows)


def ms(rows: list[dict], key: str = "tow") -> str:
    vals = [r[key] for r in rows]
    return f"{statistics.mean(vals):.3f}" + (f" ± {statistics.stdev(vals):.3f}" if len(vals) > 1 else "")


def setting_label(sweep: Sweep, method: str, setting: str) -> str:
    if method == "dareu":
        return sweep.meta["dareu"][setting]
    if m := re.fullmatch(r"lr([0-9.e-]+)", setting):
        return f"lr {m.group(1)}"
    return setting


def lrs_tried(sweep: Sweep, method: str) -> int:
    return len({r["setting"] for r in sweep.rows if r["method"] == method})


def caption(*sweeps: Sweep) -> str:
    files = ", ".join(f"`{s.rel()}`" for s in sweeps)
    where = "beside each" if len(sweeps) > 1 else "beside it"
    return f"Rows: {files} (recipe, overrides, machine: `sweep.json` {where}); table: {SCRIPT}."


def method_table(name: str) -> str:
    """Every method on one prepared run: DareU's setting and each baseline at its best lr."""
    s = Sweep(name)
    head = ["| method, setting | seeds | ToW | ToW per seed | forget mass | forget ROUGE | retain / test ROUGE |",
            "|---|---|---|---|---|---|---|"]
    lines = list(head)
    f = s.refs["oracle"]
    lines.append(f"| oracle | — | 1.000 | | {f['forget_attribution_mass']:.3f} | "
                 f"{f['forget_rouge']:.3f} | {f['retain_rouge']:.3f} / {f['test_rouge']:.3f} |")
    for method, setting, rs in s.ranked():
        label = f"{NAMES[method]}, {setting_label(s, method, setting)}"
        if method != "dareu":
            label += f" (best of {lrs_tried(s, method)})"
        if method == "dareu":
            label = f"**{label}**"
        per_seed = ", ".join(f"{r['tow']:.3f}" for r in rs)
        lines.append(f"| {label} | {len(rs)} | {ms(rs)} | {per_seed} | {ms(rs, 'forget_attribution_mass')} | "
                     f"{ms(rs, 'forget_rouge')} | {mean(rs, 'retain_rouge'):.3f} / {mean(rs, 'test_rouge'):.3f} |")
    return "\n".join(lines) + "\n\n" + caption(s)


def dareu_settings_table(name: str) -> str:
    """DareU's settings on one prepared run, paired by seed."""
    s = Sweep(name)
    settings = list(s.meta["dareu"])
    seeds = set.intersection(*({r["seed"] for r in s.group("dareu", x)} for x in settings))
    lines = ["| DareU setting | seeds | ToW | ToW per seed | forget mass | forget ROUGE |", "|---|---|---|---|---|---|"]
    for x in settings:
        rs = s.group("dareu", x, seeds)
        lines.append(f"| {s.meta['dareu'][x]} | {len(rs)} | {ms(rs)} | "
                     + ", ".join(f"{r['tow']:.3f}" for r in rs)
                     + f" | {ms(rs, 'forget_attribution_mass')} | {ms(rs, 'forget_rouge')} |")
    return "\n".join(lines) + "\n\n" + caption(s)


SUMMARY = (("quickstart-2026-12-07", "`quickstart.yaml`"),
           ("tofu-forget01-2026-12-07", "`tofu_forget01_tiny.yaml`"),
           ("tofu-forget05-2026-12-06", "`tofu_forget05_tiny.yaml`"),
           ("notes-2026-12-06", "`quickstart.yaml` + notes data"),
           ("quickstart-weak-2026-12-06", "`quickstart.yaml` + overrides"))


def summary() -> str:
    """One line per corpus: DareU, the best baseline at its best lr, DareU's place of seven."""
    lines = ["| corpus | recipe | measured | DareU (seeds) | best baseline at its best lr (seeds) | "
             "DareU's place of 7 |", "|---|---|---|---|---|---|"]
    sweeps = [Sweep(n) for n, _ in SUMMARY]
    for s, (_, recipe) in zip(sweeps, SUMMARY):
        ranked = s.ranked()
        place = 1 + next(i for i, e in enumerate(ranked) if e[0] == "dareu")
        d = s.group("dareu", s.dareu)
        bm, bs, brs = next(e for e in ranked if e[0] != "dareu")
        dcell, bcell = f"{ms(d)} ({len(d)})", f"{NAMES[bm]} {ms(brs)} ({len(brs)})"
        dcell, bcell = (f"**{dcell}**", bcell) if place == 1 else (dcell, f"**{bcell}**")
        when = max(re.findall(r"\d{4}-\d\d-\d\d", s.meta["measured"]))
        lines.append(f"| {s.meta['corpus']} | {recipe} | {when} | {dcell} | {bcell} | {place} |")
    return "\n".join(lines) + "\n\n" + caption(*sweeps)


SPEED = _module("tables_speed")
AUDITS_TABLES = _module("tables_audits")

TABLES = {
    "summary": summary,
    "quickstart": lambda: method_table("quickstart-2026-12-07"),
    "tofu-forget01": lambda: method_table("tofu-forget01-2026-12-07"),
    "tofu-forget01-steps": lambda: dareu_settings_table("tofu-forget01-2026-12-07"),
    "tofu-forget05": lambda: method_table("tofu-forget05-2026-12-06"),
    "notes": lambda: method_table("notes-2026-12-06"),
    "quickstart-weak": lambda: method_table("quickstart-weak-2026-12-06"),
    "reward-audit": AUDITS_TABLES.reward_audit,
    "floor-check": AUDITS_TABLES.floor_check,
    "floor-runs": AUDITS_TABLES.floor_runs,
    "bench-rl-step": lambda: SPEED.rl_step("rl-step.json"),
    "bench-rl-step-vocab": SPEED.rl_step_vocab,
    "bench-memory": SPEED.memory,
    "bench-gpu": SPEED.gpu,
    "bench-rl-step-h200-run1": lambda: SPEED.rl_step("rl-step-h200.json", extra_tables=False),
    "bench-rl-step-h200-run2": lambda: SPEED.rl_step("rl-step-h200-run2.json", extra_tables=False),
}
BLOCK = re.compile(r"(<!-- table ([\w-]+) -->\n)(.*?) ?(<!-- /table -->)", re.S)


# ---------------------------------------------------------------- one run's summary.json

RUN_COLUMNS = (("tow", "ToW vs oracle"), ("forget_attribution_mass", "forget mass"),
               ("forget_attribution_mass_influence", "forget mass (influence)"),
               ("forget_attribution_mass_trak", "forget mass (trak)"), ("forget_rouge", "forget ROUGE"),
               ("retain_rouge", "retain ROUGE"), ("test_rouge", "test ROUGE"),
               ("forget_quality", "forget quality"), ("fluency_ppl", "fluency ppl"))


def _cell(key: str, v) -> str:  # as the run's report.md writes it (dareu/stages/report.py)
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return "—"
    if key == "forget_quality" and v < 0.01:
        return f"{v:.1e}"
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.3f}"


def run_table(run_dir: Path) -> str:
    """The README's quickstart table, from any run's <output_dir>/summary.json."""
    models = json.loads((run_dir / "summary.json").read_text())["models"]
    models = {k: v for k, v in models.items() if not k.startswith("attributor")}
    order = [m for m in ("oracle", "target") if m in models]
    order += sorted((m for m in models if m not in order), key=lambda m: -(models[m].get("tow") or 0))
    cols = [k for k, _ in RUN_COLUMNS if any(k in models[m] for m in order)]
    titles = dict(RUN_COLUMNS)
    lines = ["| model | " + " | ".join(titles[k] for k in cols) + " |", "|---|" + "---|" * len(cols)]
    for m in order:
        cells = [_cell(k, models[m].get(k, 1.0 if (m, k) == ("oracle", "tow") else None)) for k in cols]
        if m == "dareu":
            cells[0] = f"**{cells[0]}**"
        lines.append(f"| {'**dareu**' if m == 'dareu' else m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- documents

def attribution_page() -> str:
    return _module("attribution_lds").render(json.loads((RESULTS / "attribution_lds.json").read_text()))


def rewrite(text: str) -> str:
    def sub(m: re.Match) -> str:
        if m.group(2) not in TABLES:
            raise SystemExit(f"unknown table {m.group(2)!r}; known: {', '.join(TABLES)}")
        return m.group(1) + TABLES[m.group(2)]() + " " + m.group(4)  # the end marker closes the rows line
    return BLOCK.sub(sub, text)


def documents() -> dict[Path, str]:
    """{document: its text with every table regenerated} (docs/attribution.md: the whole page)."""
    out = {p: rewrite(p.read_text()) for p in DOCS if p.exists()}
    out[REPO / "docs" / "attribution.md"] = attribution_page()
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        if len(argv) != 2:
            raise SystemExit("usage: python bench/tables.py run RUN_DIR")
        print(run_table(Path(argv[1])))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if a document is out of date")
    p.add_argument("--show", metavar="NAME", help="print one table")
    p.add_argument("--list", action="store_true", help="list the table names")
    a = p.parse_args(argv)
    if a.list:
        print("\n".join(TABLES))
        return 0
    if a.show:
        print(TABLES[a.show]())
        return 0
    stale = []
    for path, text in documents().items():
        if path.read_text() != text:
            stale.append(path.relative_to(REPO))
            if not a.check:
                path.write_text(text)
    if a.check and stale:
        print("out of date (run python bench/tables.py): " + ", ".join(map(str, stale)))
        return 1
    print(("rewrote " + ", ".join(map(str, stale))) if stale else "every table is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
