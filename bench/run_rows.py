"""Append one row per model of a finished run (its summary.json and DareU's stage result) to a
rows file, for the tables of docs/results.md (`python bench/tables.py`).

    python bench/run_rows.py RUN_DIR --corpus NAME --seed N [--out bench/results/floor-runs.jsonl]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

KEYS = ("tow", "forget_attribution_mass", "forget_rouge", "retain_rouge", "test_rouge", "fluency_ppl")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("--corpus", required=True)
    p.add_argument("--seed", type=int, required=True, help="the unlearning seed of the run")
    p.add_argument("--out", default="bench/results/floor-runs.jsonl")
    a = p.parse_args()
    run = Path(a.run_dir)
    models = json.loads((run / "summary.json").read_text())["models"]
    stage = run / "stages" / "unlearn-dareu.json"
    dareu = json.loads(stage.read_text())["result"] if stage.is_file() else {}
    with open(a.out, "a") as f:
        for name, m in models.items():
            if name.startswith("attributor"):
                continue
            row = {"corpus": a.corpus, "seed": a.seed, "model": name, "date": time.strftime("%Y-%m-%d"),
                   **{k: m.get(k) for k in KEYS}}
            if name == "dareu":
                row.update({k: dareu.get(k) for k in ("floor", "steps", "steps_run", "train_wall_s")})
            f.write(json.dumps(row) + "\n")
            print(json.dumps(row))


if __name__ == "__main__":
    main()
