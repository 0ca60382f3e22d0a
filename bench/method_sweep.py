"""Every method at each of its settings and several unlearning seeds on one prepared run: ToW
against the oracle, mean ± sd, and each method at its best setting (the tables of docs/results.md).

    dareu prepare RECIPE run.output_dir=BASE
    dareu fit-attributor RECIPE run.output_dir=BASE
    python bench/method_sweep.py --base BASE --recipe RECIPE --out OUT [--seeds 0 1 2]
                                 [--methods dareu npo ...] [--extra KEY=VALUE ...]

Each (method, setting, seed) unlearns a copy of the base run (tokenizer, target, oracle,
attributor) with `dareu.stages.unlearn` under `unlearn.seed=<seed>` — the target and oracle stay
fixed — then scores greedy answers with `dareu.eval.headline.headline_metrics`; ToW is taken
against the oracle's headline ROUGE. Rows go to <OUT>/results.jsonl (a row already there is not
rerun), the summary table to <OUT>/summary.md. Every baseline gets a learning-rate sweep
(`unlearn.baselines.lr`), so the comparison gives each method the same chance.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

BASELINE_LRS = ("1e-5", "3e-5", "1e-4", "3e-4", "1e-3")
BASELINES = ("grad_ascent", "grad_diff", "kl", "npo", "simnpo", "idkpo")
# DareU settings: the defaults; more with --dareu NAME:KEY=VALUE,... (docs/method.md)
DAREU: dict[str, list[str]] = {"defaults": []}


def grid(methods: list[str], lrs: tuple[str, ...] = BASELINE_LRS) -> dict[str, dict[str, list[str]]]:
    """{method: {setting name: overrides}}."""
    out = {}
    for m in methods:
        if m == "dareu":
            out[m] = dict(DAREU)
        elif m in BASELINES:
            out[m] = {f"lr{lr}": [f"unlearn.baselines.lr={lr}"] for lr in lrs}
        else:
            raise SystemExit(f"--methods: unknown method {m!r}; expected dareu or one of {BASELINES}")
    return out


COPIED = ("tokenizer", "base", "target", "oracle", "attributor", "stages")


def copy_base(base: Path, d: Path) -> None:
    """A fresh run folder with the base run's prepared stages (no method trained yet)."""
    shutil.rmtree(d, ignore_errors=True)
    for sub in COPIED:
        if (base / sub).exists():
            shutil.copytree(base / sub, d / sub)
    for marker in (d / "stages").glob("unlearn-*"):
        marker.unlink()


def load_run(recipe: str, d: Path, overrides: list[str]):
    from dareu.config import load_config
    from dareu.pipeline import Run

    return Run(load_config(recipe, [f"run.output_dir={d}", "trainer.enable_progress_bar=false",
                                    *overrides]))


def score(run, model_dir: Path, name: str, answers_to: Path | None = None) -> dict:
    """Headline ROUGE and forget mass of the model in `model_dir`; the greedy forget answers they
    were measured on go to `answers_to` (JSON) when given."""
    from dareu.eval.headline import headline_and_answers
    from dareu.stages.objects import eval_task, load_for_eval

    row, answers = headline_and_answers(eval_task(run), load_for_eval(run, model_dir), name)
    if answers_to is not None:
        answers_to.parent.mkdir(parents=True, exist_ok=True)
        answers_to.write_text(json.dumps([{"prompt": r.prompt, "truth": r.response, "answer": a}
                                          for r, a in zip(run.corpus.forget, answers)], indent=1))
    return row


def tow(row: dict, oracle: dict) -> float:
    from dareu.eval.tofu_metrics import tug_of_war

    keys = ("forget", "retain", "test")
    return tug_of_war({k: row[f"{k}_rouge"] for k in keys}, {k: oracle[f"{k}_rouge"] for k in keys})


def references(base: Path, recipe: str, extra: list[str], out: Path) -> dict:
    """The target's and oracle's headline figures (computed once, kept in <out>/references.json)."""
    path = out / "references.json"
    if path.exists():
        return json.loads(path.read_text())
    run = load_run(recipe, base, extra)
    refs = {m: score(run, getattr(run, f"{m}_dir"), m, out / "answers" / f"{m}.json")
            for m in ("target", "oracle")}
    refs["target"]["tow"] = tow(refs["target"], refs["oracle"])
    path.write_text(json.dumps(refs, indent=1))
    return refs


def measure(base: Path, out: Path, recipe: str, method: str, setting: str, overrides: list[str],
            seed: int, oracle: dict) -> dict:
    from dareu.stages.unlearn import unlearn

    d = out / "runs" / f"{method}-{setting}-s{seed}"
    copy_base(base, d)
    run = load_run(recipe, d, [f"unlearn.methods=[{method}]", f"unlearn.seed={seed}", *overrides])
    t0 = time.time()
    unlearn(run)
    row = {"method": method, "setting": setting, "seed": seed, "overrides": overrides,
           "unlearn_wall_s": round(time.time() - t0, 1), **score(run, run.method_dir(method), method,
                                                          out / "answers" / f"{d.name}.json")}
    row["tow"] = round(tow(row, oracle), 4)
    shutil.rmtree(d / "methods", ignore_errors=True)  # the figures are kept; the weights are not
    for sub in COPIED:
        shutil.rmtree(d / sub, ignore_errors=True)
    return row


def best_settings(rows: list[dict]) -> dict[str, str]:
    """{method: its best setting}: the highest mean ToW among the settings run with the most seeds
    (a sweep picks on seed 0, then reruns the pick with more seeds: the pick stays the pick)."""
    tows: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        tows.setdefault((r["method"], r["setting"]), []).append(r["tow"])
    best: dict[str, tuple[int, float, str]] = {}
    for (m, s), t in tows.items():
        key = (len(t), statistics.mean(t), s)
        if m not in best or key[:2] > best[m][:2]:
            best[m] = key
    return {m: s for m, (_, _, s) in best.items()}


def summarise(rows: list[dict], refs: dict) -> str:
    """Mean ± sd per (method, setting), and each method at its best mean ToW."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["method"], r["setting"]), []).append(r)

    def ms(vals: list[float]) -> str:
        sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
        return f"{statistics.mean(vals):.3f} ± {sd:.3f}"

    cols = ("tow", "forget_attribution_mass", "forget_rouge", "retain_rouge", "test_rouge")
    head = ("| method | setting | seeds | ToW | forget mass | forget ROUGE | retain ROUGE | test ROUGE |\n"
            "|---|---|---|---|---|---|---|---|")
    lines = ["## Every setting", "", head]
    for (m, s), rs in sorted(groups.items()):
        lines.append(f"| {m} | {s} | {len(rs)} | " + " | ".join(ms([r[c] for r in rs]) for c in cols) + " |")
    best = best_settings(rows)
    lines += ["", "## Each method at its best setting (most seeds, then mean ToW)", "", head]
    for name in ("target", "oracle"):
        f = refs[name]
        lines.append(f"| {name} | — | — | {f.get('tow', 1.0):.3f} | " + " | ".join(
            f"{f[c]:.3f}" for c in cols[1:]) + " |")
    for m, s in sorted(best.items(), key=lambda kv: -statistics.mean(r["tow"] for r in groups[kv])):
        rs = groups[(m, s)]
        lines.append(f"| **{m}** | {s} | {len(rs)} | " + " | ".join(ms([r[c] for r in rs]) for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", type=Path, required=True, help="prepared run with a fitted attributor")
    p.add_argument("--recipe", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=["dareu", *BASELINES])
    p.add_argument("--settings", nargs="+", default=None, help="only these setting names")
    p.add_argument("--lrs", nargs="+", default=list(BASELINE_LRS),
                   help="the baselines' learning rates (unlearn.baselines.lr)")
    p.add_argument("--best", action="store_true",
                   help="run --seeds only at each method's best setting so far (by mean ToW)")
    p.add_argument("--dareu", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                   help="an extra DareU setting (repeatable), e.g. lr3:unlearn.lr=3e-4,unlearn.steps=120")
    p.add_argument("--add", action="append", default=[], metavar="METHOD:NAME:KEY=VALUE,...",
                   help="an extra setting of any method (repeatable), e.g. "
                        "npo:lr3e-4s120:unlearn.baselines.lr=3e-4,unlearn.steps=120")
    p.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE",
                   help="an override added to every run (repeatable), e.g. data.path=...")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    extra: dict[str, dict[str, list[str]]] = {}
    for spec in [f"dareu:{d}" for d in a.dareu] + a.add:
        method, name, overrides = (spec.split(":", 2) + ["", ""])[:3]
        extra.setdefault(method, {})[name] = [o for o in overrides.split(",") if o]
    refs = references(a.base, a.recipe, a.extra, a.out)
    results = a.out / "results.jsonl"
    rows = [json.loads(line) for line in open(results)] if results.exists() else []
    done = {(r["method"], r["setting"], r["seed"]) for r in rows}
    best = best_settings(rows) if a.best else {}
    settings_of = grid(a.methods, tuple(a.lrs))
    for method, more in extra.items():
        settings_of.setdefault(method, {}).update(more)
    for method, settings in settings_of.items():
        for setting, overrides in settings.items():
            if (a.settings and setting not in a.settings) or (a.best and best.get(method) != setting):
                continue
            for seed in a.seeds:
                if (method, setting, seed) in done:
                    continue
                row = measure(a.base, a.out, a.recipe, method, setting, overrides + a.extra, seed,
                              refs["oracle"])
                rows.append(row)
                with open(results, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps({k: row[k] for k in ("method", "setting", "seed", "tow",
                                                       "forget_attribution_mass", "forget_rouge",
                                                       "retain_rouge", "unlearn_wall_s")}), flush=True)
    text = summarise(rows, refs)
    (a.out / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
