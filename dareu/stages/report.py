"""`dareu report RUN_DIR` (and the last stage of `dareu run`): report.md, report.html and plots.

Everything is read back from the run directory (summary.json, eval/<model>/TOFU_EVAL.json,
logs/dareu/metrics.csv, stages/*.json, config.yaml), so a report can be rebuilt at any time
without loading a model.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from dareu.errors import DareUError
from dareu.io import atomic_dir, atomic_write_text, read_json
from dareu.pipeline import Run, is_rank_zero
from dareu.report import plots
from dareu.report.document import Block, Code, Heading, Image, Paragraph, Table, to_html, to_markdown

log = logging.getLogger("dareu")

# (summary key, column title, what "best" means): max = highest, zero = closest to 0,
# oracle = closest to the oracle's own value (the retrained model is the goal, not an extreme)
COLUMNS = [
    ("forget_quality", "forget quality", "max"),
    ("model_utility", "model utility", "max"),
    ("tow", "ToW", "max"),
    ("forget_attribution_mass", "forget mass", "oracle"),
    ("forget_rouge", "forget ROUGE", "oracle"),
    ("retain_rouge", "retain ROUGE", "oracle"),
    ("test_rouge", "test ROUGE", "oracle"),
    ("privleak", "privleak", "zero"),
    ("extraction_strength", "extraction", "oracle"),
    ("fluency_ppl", "fluency ppl", "oracle"),
    ("answer_len", "answer words", "oracle"),
]
BEST_NOTE = ("Bold: the best unlearned model per column. Best means highest for forget quality, "
             "model utility and ToW; closest to 0 for privleak; closest to the oracle's value for "
             "every other column (forget mass, ROUGE, extraction strength, fluency perplexity under "
             "the oracle, answer length), because the goal is to behave like the retrained "
             "model, not to push a number to an extreme. The oracle row is the reference; the "
             "target row is the model before unlearning.")


def report(run: Run) -> dict:
    if not is_rank_zero():  # under a DDP launch every rank reaches this; one writes
        return {}
    models = _models(run)
    made = _plots(run, models)
    blocks = _document(run, models, made)
    md = run.out / "report.md"
    atomic_write_text(md, to_markdown(blocks))
    atomic_write_text(run.out / "report.html", to_html(blocks, f"DareU report: {run.out.name}"))
    print(f"dareu: report written to {md}")
    return {"report": str(md), "plots": sorted(made)}


def report_cli(run_dir: str) -> int:
    from dareu.config import load_config

    d = Path(run_dir)
    if not (d / "config.yaml").is_file():
        raise DareUError(f"{d} is not a DareU run directory: it has no config.yaml. Pass the "
                         "run.output_dir of a run (e.g. runs/quickstart) after `dareu run` or "
                         "`dareu prepare` has written into it.")
    cfg = load_config(d / "config.yaml")
    cfg.run.output_dir = str(d)  # the folder may have moved since the run wrote its config
    report(Run(cfg))
    return 0


def _models(run: Run) -> dict[str, dict]:
    """Evaluated models in summary.json: oracle, target, the recipe's methods, then any others
    (summary.json also holds non-models, e.g. the attributor's accuracy: left out)."""
    found = (read_json(run.out / "summary.json", default={}) or {}).get("models", {})
    found = {m: s for m, s in found.items() if (run.eval_dir(m) / "TOFU_SUMMARY.json").is_file()}
    order = ["oracle", "target", *run.cfg.unlearn.methods]
    names = [m for m in order if m in found] + sorted(m for m in found if m not in order)
    return {m: found[m] for m in dict.fromkeys(names)}


def _plots(run: Run, models: dict[str, dict]) -> dict[str, str]:
    """Draw every figure there is data for into plots/ (replaced in one rename)."""
    mass = {}
    for m in models:
        ev = read_json(run.eval_dir(m) / "TOFU_EVAL.json") or {}
        items = ev.get("forget_attribution_mass", {}).get("value_by_index", {})
        mass[m] = [v["score"] for v in items.values() if v.get("score") is not None]
    figures = {
        "forget_quality_vs_utility.png": ("Forget quality (log) vs model utility",
                                          lambda p: plots.forget_quality_vs_utility(models, p)),
        "tug_of_war.png": ("Tug-of-War vs the oracle", lambda p: plots.tug_of_war(models, p)),
        "dareu_training.png": ("DareU reward, forget mass and KL over training steps",
                               lambda p: plots.training_curves(
                                   plots.read_training_log(run.out / "logs" / "dareu" / "metrics.csv"), p)),
        "forget_mass_distribution.png": ("Forget-owner attribution mass per forget answer",
                                         lambda p: plots.mass_distribution(mass, p)),
    }
    made = {}
    with atomic_dir(run.out / "plots") as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; the plots are meant to be shared
        for file, (caption, draw) in figures.items():
            if draw(tmp / file):
                made[file] = caption
    return made


def _document(run: Run, models: dict[str, dict], made: dict[str, str]) -> list[Block]:
    blocks: list[Block] = [Heading(f"DareU report: {run.out.name}", 1),
                           Paragraph(_corpus_line(run)), Heading("Results")]
    if models:
        header = ["model"] + [title for _, title, _ in COLUMNS]
        rows = [[m] + [_fmt(key, s.get(key)) for key, _, _ in COLUMNS] for m, s in models.items()]
        blocks += [Table(header, rows, _best_cells(models)), Paragraph(BEST_NOTE)]
    else:
        blocks.append(Paragraph("No model has been evaluated yet: run `dareu evaluate RECIPE`."))
    blocks += [Image(f"plots/{f}", caption) for f, caption in made.items()]
    times = _stage_times(run)
    if times:
        total = sum(t or 0 for t in times.values())
        rows = [[stage, _secs(t)] for stage, t in times.items()] + [["total", _secs(total)]]
        blocks += [Heading("Stage wall times (s)"), Table(["stage", "wall time (s)"], rows)]
    config = run.out / "config.yaml"
    if config.is_file():
        blocks += [Heading("Configuration"), Code(config.read_text(), "yaml")]
    return blocks


def _stage_times(run: Run) -> dict[str, float | None]:
    """Wall time of each finished stage, in the order the stages finished."""
    times = run.stage_times()

    def finished(stage: str) -> tuple:
        marker = run.marker(stage)
        return (read_json(marker).get("finished_at") or "", marker.stat().st_mtime)

    return {s: times[s] for s in sorted(times, key=finished)}


def _secs(v: Any) -> str:
    return f"{v:.1f}" if _finite(v) else "—"


def _corpus_line(run: Run) -> str:
    d = run.cfg.data
    methods = ", ".join(run.cfg.unlearn.methods)
    return (f"Corpus: {d.source}{' (' + d.path + ')' if d.path else ''}; methods: {methods}; "
            f"every model is compared with the oracle (trained on the retain owners only).")


def _best_cells(models: dict[str, dict]) -> set[tuple[int, int]]:
    names = list(models)
    candidates = [i for i, m in enumerate(names) if m not in ("oracle", "target")]
    oracle = models.get("oracle", {})
    cells = set()
    for col, (key, _, rule) in enumerate(COLUMNS, start=1):
        score = {}
        for i in candidates:
            v = models[names[i]].get(key)
            if not _finite(v):
                continue
            if rule == "max":
                score[i] = -v
            elif rule == "zero":
                score[i] = abs(v)
            elif _finite(oracle.get(key)):
                score[i] = abs(v - oracle[key])
        if score:
            best = min(score.values())
            cells |= {(i, col) for i, s in score.items() if s <= best + 1e-12}
    return cells


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _fmt(key: str, v: Any) -> str:
    if not _finite(v):
        return "—"
    if key == "forget_quality" and v < 0.01:  # a p-value: its order of magnitude is the information
        return f"{v:.1e}"
    if key in ("privleak", "answer_len") or abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.3f}"
