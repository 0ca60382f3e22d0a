"""Advantage magnitude and sampled forget mass against step, for several DareU runs side by side.

    python bench/advantage_plot.py OUT.png LABEL=RUN_DIR/logs/dareu/metrics.csv [...]

Each metrics.csv is the per-step log a DareU run writes (`logs/dareu/metrics.csv`); the top panel
is the mean |advantage| of the rollout (`advantage_abs`), the bottom one the mean forget mass of
the sampled answers (`forget_mass`), both smoothed over 5 steps. Does the push fade once the mass
is gone? The top panel says.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def smooth(values: list[float], k: int = 5) -> list[float]:
    out = []
    for i in range(len(values)):
        window = values[max(0, i - k + 1):i + 1]
        out.append(sum(window) / len(window))
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2 or any("=" not in a for a in argv[1:]):
        print(__doc__, file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for spec in argv[1:]:
        label, path = spec.split("=", 1)
        rows = list(csv.DictReader(open(path)))
        steps = [int(r["step"]) for r in rows]
        top.plot(steps, smooth([float(r["advantage_abs"]) for r in rows]), label=label)
        bottom.plot(steps, smooth([float(r["forget_mass"]) for r in rows]), label=label)
    top.set_ylabel("mean |advantage|")
    bottom.set_ylabel("sampled forget mass")
    bottom.set_xlabel("RL step")
    top.legend(fontsize=8)
    fig.tight_layout()
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(out)
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
