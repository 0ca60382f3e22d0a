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

from dareu.config import attributor_slug
from dareu.errors import DareUError
from dareu.io import atomic_dir, atomic_write_text, read_json
from dareu.pipeline import Run, is_rank_zero
from dareu.report import plots
from dareu.stages.floor_note import floor_note
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
MASS = "forget_attribution_mass"  # the reward attributor's; MASS_<name>: eval.attributors
BEST_NOTE = ("Bold: the best unlearned model per column. Best means highest for forget quality, "
             "model utility and ToW; closest to 0 for privleak; closest to the oracle's value for "
             "every other column (forget mass, ROUGE, extraction strength, fluency perplexity under "
             "the oracle, answer length), because the goal is to behave like the retrained "
             "model, not to push a number to an extreme. The oracle row is the reference; the "
             "target row is the model before unlearning.")


ROBUSTNESS_NOTE = ("Forget ROUGE-L recall each attack pulls back out of each model (definitions in "
                   "docs/evaluation.md): the oracle never saw the forget owners, so its row is the "
                   "floor; what a model gives back above the oracle was hidden, not removed. Bold: "
                   "the unlearned model closest to the oracle.")
# summary keys of the attacks shown below the Robustness table (the table has one per attack)
ATTACK_DETAILS = {"sampling": [("attack_sampling_hit", "sampling: share of prompts with a sample "
                                                       "at ROUGE ≥ 0.9")],
                  "relearn": [("attack_relearn_rouge_before", "relearn: unseen-half ROUGE before"),
                              ("attack_relearn_rouge_shown", "relearn: shown-half ROUGE after"),
                              ("attack_relearn_mass", "relearn: forget mass after")],
                  "priming": [("attack_priming_pairs", "priming: true QA pairs in the prompt")],
                  "quantize": [("attack_quantize_rouge_before", "quantize: ROUGE before"),
                               ("attack_quantize_changed", "quantize: 4-bit answers changed"),
                               ("attack_quantize_mass", "quantize: 4-bit forget mass"),
                               ("attack_quantize_int8_rouge", "quantize: 8-bit ROUGE"),
                               ("attack_quantize_int8_mass", "quantize: 8-bit forget mass")]}


def report(run: Run) -> dict:
    if not is_rank_zero():  # under a DDP launch every rank reaches this; one writes
        return {}
    models = _models(run)
    extra = _extra_attributors(run, models)
    made = _plots(run, models, extra)
    blocks = _document(run, models, made, extra)
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


def _extra_attributors(run: Run, models: dict[str, dict]) -> list[str]:
    """Names of the extra attributors (eval.attributors) some model has a forget mass under:
    the recipe's order first, then any other found in summary.json."""
    found = {k[len(MASS) + 1:] for s in models.values() for k in s if k.startswith(MASS + "_")}
    ordered = [attributor_slug(a) for a in run.cfg.eval.attributors]
    return [a for a in ordered if a in found] + sorted(found - set(ordered))


def _columns(extra: list[str]) -> list[tuple[str, str, str]]:
    """COLUMNS with `forget mass (<attributor>)` after `forget mass`, judged the same way."""
    out = []
    for col in COLUMNS:
        out.append(col)
        if col[0] == MASS:
            out += [(f"{MASS}_{a}", f"forget mass ({a})", col[2]) for a in extra]
    return out


def _plots(run: Run, models: dict[str, dict], extra: list[str] = ()) -> dict[str, str]:
    """Draw every figure there is data for into plots/ (replaced in one rename)."""
    mass: dict[str, list[float]] = {}
    reward = attributor_slug(run.cfg.attributor.name)
    others: dict[str, dict[str, list[float]]] = {a: {} for a in extra if a != reward}  # no twin
    for m in models:
        ev = read_json(run.eval_dir(m) / "TOFU_EVAL.json") or {}
        mass[m] = _item_scores(ev, MASS)
        for a in others:
            others[a][m] = _item_scores(ev, f"{MASS}_{a}")
    reward_label = f"{run.cfg.attributor.name} (reward)"
    figures = {
        "forget_quality_vs_utility.png": ("Forget quality (log) vs model utility",
                                          lambda p: plots.forget_quality_vs_utility(models, p)),
        "tug_of_war.png": ("Tug-of-War vs the oracle", lambda p: plots.tug_of_war(models, p)),
        "dareu_training.png": ("DareU reward, forget mass, KL, advantage size and fluency penalty over training steps",
                               lambda p: plots.training_curves(
                                   plots.read_training_log(run.out / "logs" / "dareu" / "metrics.csv"), p)),
        "robustness.png": ("Forget ROUGE recovered by each attack",
                           lambda p: bool(_robustness(run, models)) and plots.robustness(
                               models, dict(_attack_columns(run)), p)),
        "forget_mass_distribution.png": ("Forget-owner attribution mass per forget answer",
                                         lambda p: plots.mass_distribution(
                                             mass, p, others, label=reward_label)),
    }
    made = {}
    with atomic_dir(run.out / "plots") as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; the plots are meant to be shared
        for file, (caption, draw) in figures.items():
            if draw(tmp / file):
                made[file] = caption
    return made


def _item_scores(ev: dict, key: str) -> list[float]:
    items = ev.get(key, {}).get("value_by_index", {})
    return [v["score"] for v in items.values() if v.get("score") is not None]


def _document(run: Run, models: dict[str, dict], made: dict[str, str],
              extra: list[str] = ()) -> list[Block]:
    blocks: list[Block] = [Heading(f"DareU report: {run.out.name}", 1),
                           Paragraph(_corpus_line(run)), Heading("Results")]
    if models:
        columns = _columns(list(extra))
        header = ["model"] + [title for _, title, _ in columns]
        rows = [[m] + [_fmt(key, s.get(key)) for key, _, _ in columns] for m, s in models.items()]
        blocks += [Table(header, rows, _best_cells(models, columns)), Paragraph(BEST_NOTE)]
        if extra:
            blocks.append(Paragraph(_mass_note(run, list(extra))))
        if (note := floor_note(run, models)) is not None:
            blocks.append(Paragraph(note))
        shown = {key for key, _, _ in columns}
        gaps = [f"{m}: {key} — {why}" for m, s in models.items()
                for key, why in (s.get("unavailable") or {}).items() if key in shown]
        if gaps:
            blocks += [Paragraph("A dash marks a figure that could not be computed:"),
                       Code("\n".join(gaps), "text")]
    else:
        blocks.append(Paragraph("No model has been evaluated yet: run `dareu evaluate RECIPE`."))
    blocks += _robustness(run, models)
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


def _attack_columns(run: Run) -> list[tuple[str, str]]:
    """(summary key, title) of the Robustness table: greedy forget ROUGE, then one per attack;
    none without attacks."""
    from dareu.eval.attacks import HEADLINE

    if not run.cfg.eval.attacks:
        return []
    titles = {"sampling": f"sampling (best of {run.cfg.eval.attack.samples})",
              "paraphrase": "paraphrased prompts", "relearn": "relearn (unseen half)",
              "priming": "in-context priming", "quantize": "4-bit quantized (nf4)"}
    return [("forget_rouge", "no attack (greedy)")] + [(HEADLINE[a], titles[a])
                                                         for a in run.cfg.eval.attacks]


def _robustness(run: Run, models: dict[str, dict]) -> list[Block]:
    """The Robustness table (one column per attack of eval.attacks) and its secondary figures."""
    columns = [(k, t, "oracle") for k, t in _attack_columns(run)]
    if not any(s.get(k) is not None for s in models.values() for k, _, _ in columns[1:]):
        return []
    rows = [[m] + [_fmt(k, s.get(k)) for k, _, _ in columns] for m, s in models.items()]
    blocks: list[Block] = [Heading("Robustness"),
                           Table(["model"] + [t for _, t, _ in columns], rows,
                                 _best_cells(models, columns)),
                           Paragraph(ROBUSTNESS_NOTE)]
    details = [d for a in run.cfg.eval.attacks for d in ATTACK_DETAILS.get(a, [])]
    if details:
        rows = [[m] + [_fmt(k, s.get(k)) for k, _ in details] for m, s in models.items()]
        blocks.append(Table(["model"] + [t for _, t in details], rows))
    return blocks


def _mass_note(run: Run, extra: list[str]) -> str:
    """What the forget-mass columns measure, when eval.attributors added some."""
    reward = run.cfg.attributor.name
    others = [a for a in extra if a != attributor_slug(reward)]
    text = f"Forget mass is measured with the reward's attributor ({reward})"
    if others:
        text += (f"; forget mass ({'), ('.join(others)}) with the extra attributors of "
                 "eval.attributors, fitted with their default options on the same corpus and "
                 "target and applied to the same greedy forget answers")
    if len(others) < len(extra):
        text += f"; forget mass ({attributor_slug(reward)}) repeats forget mass"
    return text + ". Each is a share in [0, 1], judged like forget mass: closest to the oracle."


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


def _best_cells(models: dict[str, dict], columns: list[tuple[str, str, str]] | None = None
                ) -> set[tuple[int, int]]:
    names = list(models)
    candidates = [i for i, m in enumerate(names) if m not in ("oracle", "target")]
    oracle = models.get("oracle", {})
    cells = set()
    for col, (key, _, rule) in enumerate(columns or COLUMNS, start=1):
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
