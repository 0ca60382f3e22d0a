"""Does DareU's floor, measured before unlearning, track the oracle's forget mass?

    python bench/floor_check.py RECIPE RUN_DIR [key=value ...] [--out bench/results/floor-check.jsonl]

RUN_DIR is a prepared run (`dareu prepare` + `dareu fit-attributor` with the same recipe and
overrides). Prints, for that corpus: the floor as DareU measures it (`dareu.modules.floor.Floor`:
the target's greedy answers to `unknown_people` questions, scored by the reward's attributor),
its per-answer spread, and the forget mass of the oracle's and the target's greedy answers to the
forget questions (what the report's forget-mass column shows), and appends one JSON row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    return platform.machine()


def main() -> None:
    from dareu.config import load_config
    from dareu.data.name_swap import unknown_people
    from dareu.generation import generate
    from dareu.modules.floor import Floor
    from dareu.pipeline import Run
    from dareu.stages import objects

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipe")
    p.add_argument("run_dir")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--label", default=None, help="corpus name in the row (default: the run folder)")
    p.add_argument("--out", default="bench/results/floor-check.jsonl")
    a = p.parse_args()
    cfg = load_config(a.recipe, [*a.overrides, f"run.output_dir={a.run_dir}"])
    run = Run(cfg)
    corpus, reward, tok = run.corpus, objects.reward(run), run.tokenizer
    t0 = time.time()

    def answers(model, records, max_new_tokens):
        return generate(model, tok, [run.prompt_text(r.prompt) for r in records], max_new_tokens, 32)

    target, oracle = (objects.load_for_eval(run, d) for d in (run.target_dir, run.oracle_dir))
    probe = unknown_people(corpus.retain, corpus.holdout, cfg.unlearn.seed)
    measured = Floor("auto", [(r.prompt, run.prompt_text(r.prompt)) for r in probe])
    measured.measure(target, tok, reward, cfg.unlearn.sampling.max_new_tokens, lambda t: t)
    floor, spread = measured.level, measured.spread
    forget = corpus.forget[:cfg.eval.max_items] if cfg.eval.max_items else corpus.forget

    def mass(model) -> float:
        got = answers(model, forget, cfg.eval.max_new_tokens)
        return float(reward.forget_mass([r.prompt for r in forget], got).mean())

    row = {"corpus": a.label or Path(a.run_dir).name, "recipe": a.recipe, "overrides": a.overrides,
           "floor": round(floor, 4), "floor_sd": round(spread, 4), "probe_answers": len(probe),
           "holdout_questions": min(len(corpus.holdout), len(probe)),
           "oracle_mass": round(mass(oracle), 4), "target_mass": round(mass(target), 4),
           "date": time.strftime("%Y-%m-%d"), "machine": _cpu(),
           "seconds": round(time.time() - t0, 1)}
    row["floor_minus_oracle"] = round(row["floor"] - row["oracle_mass"], 4)
    print(json.dumps(row))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
