"""The report's figures (matplotlib, Agg backend: no display needed), one function per figure.

Each function takes plain data and a path, writes one PNG and returns True, or returns False
when there is nothing to draw (e.g. no DareU training log), so the report can leave it out.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FQ_FLOOR = 1e-20  # forget quality can be exactly 0 (KS p-value underflow): drawn at this floor
ORACLE, TARGET = "oracle", "target"


def _save(fig, path: Path) -> bool:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def forget_quality_vs_utility(models: dict[str, dict], path: Path) -> bool:
    """Forget quality (log) against model utility; the oracle sits at the top (FQ = 1)."""
    pts = {m: (s.get("model_utility"), s.get("forget_quality")) for m, s in models.items()}
    pts = {m: (u, max(fq, FQ_FLOOR)) for m, (u, fq) in pts.items() if u is not None and fq is not None}
    if not pts:
        return False
    fig, ax = plt.subplots(figsize=(6, 4.5))
    labels: dict[tuple[float, float], list[str]] = {}  # models on the same spot share one label
    for m, (u, fq) in pts.items():
        style = {ORACLE: dict(marker="*", s=220, c="tab:green"),
                 TARGET: dict(marker="X", s=120, c="tab:red")}.get(m, dict(marker="o", s=60))
        ax.scatter([u], [fq], zorder=3, **style)
        labels.setdefault((round(u, 4), float(f"{fq:.3g}")), []).append(m)
    for (u, fq), names in labels.items():
        ax.annotate(", ".join(names), (u, fq), textcoords="offset points", xytext=(6, 4), fontsize=9)
    ax.set_yscale("log")
    ax.axhline(0.05, color="grey", ls=":", lw=1)  # above: not distinguishable from the oracle
    ax.set_xlabel("model utility (higher is better)")
    ax.set_ylabel("forget quality (KS p-value vs oracle, log)")
    ax.set_title("Forgetting vs utility")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def tug_of_war(models: dict[str, dict], path: Path) -> bool:
    """ToW per model; 1.0 (dashed) = behaves like the oracle on forget, retain and test."""
    vals = {m: s["tow"] for m, s in models.items() if m != ORACLE and s.get("tow") is not None}
    if not vals:
        return False
    fig, ax = plt.subplots(figsize=(max(4, 1 + 0.8 * len(vals)), 4))
    colors = ["tab:red" if m == TARGET else "tab:blue" for m in vals]
    ax.bar(list(vals), list(vals.values()), color=colors)
    ax.axhline(1.0, color="tab:green", ls="--", lw=1, label="oracle")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("Tug-of-War vs oracle (ROUGE-L)")
    ax.legend(loc="lower right")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    return _save(fig, path)


def read_training_log(csv_path: Path, prefixes=("reward", "forget_mass", "kl", "retain_kl",
                                                "advantage_abs", "fluency_penalty"), max_curves: int = 8
                      ) -> dict[str, tuple[list, list]]:
    """Columns of a Lightning CSVLogger file whose name (less a `train/` or `train_` prefix)
    starts with one of `prefixes`, as (steps, values), skipping the rows where the column is
    empty (rows logged for other metrics)."""
    if not csv_path.is_file():
        return {}
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    def bare(c: str) -> str:
        c = c.split("/")[-1]
        return c[len("train_"):] if c.startswith("train_") else c

    cols = [c for c in rows[0] if any(bare(c).startswith(p) for p in prefixes)][:max_curves]
    out = {}
    for c in cols:
        pts = [(float(r.get("step") or i), float(r[c])) for i, r in enumerate(rows) if r.get(c)]
        pts = [(s, v) for s, v in pts if math.isfinite(v)]
        if pts:
            out[c] = ([s for s, _ in pts], [v for _, v in pts])
    return out


def training_curves(curves: dict[str, tuple[list, list]], path: Path) -> bool:
    """One panel per logged quantity (reward, forget mass, KL) against the optimiser step."""
    if not curves:
        return False
    fig, axes = plt.subplots(len(curves), 1, figsize=(6, 2.2 * len(curves)), sharex=True, squeeze=False)
    for ax, (name, (steps, vals)) in zip(axes[:, 0], curves.items()):
        ax.plot(steps, vals, lw=1.2)
        ax.set_ylabel(name, fontsize=9)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    axes[0, 0].set_title("DareU training")
    return _save(fig, path)


def mass_distribution(per_model: dict[str, list[float]], path: Path,
                      others: dict[str, dict[str, list[float]]] | None = None,
                      label: str = "reward attributor") -> bool:
    """Per-item forget-owner attribution mass of each model's greedy forget answers.

    `others`: {attributor: {model: masses}} for the extra attributors of eval.attributors; each
    model then gets one box per attributor, side by side, coloured by attributor (`label` names
    the reward's own in the legend)."""
    series = {label: per_model, **(others or {})}
    series = {a: {m: v for m, v in pm.items() if v} for a, pm in series.items()}
    series = {a: pm for a, pm in series.items() if pm}
    if not series:
        return False
    models = list(dict.fromkeys(m for pm in series.values() for m in pm))
    n = len(series)
    width = 0.8 / n
    legend_w = 1.6 if n > 1 else 0
    fig, ax = plt.subplots(figsize=(max(5, 1 + (0.8 + 0.35 * (n - 1)) * len(models)) + legend_w, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    top = 1.0
    for j, (attributor, pm) in enumerate(series.items()):
        color = colors[j % len(colors)]
        ks = [k for k, m in enumerate(models, start=1) if m in pm]
        vals = [pm[models[k - 1]] for k in ks]
        pos = [k + (j - (n - 1) / 2) * width for k in ks]
        ax.boxplot(vals, positions=pos, widths=width * 0.8, showfliers=False, manage_ticks=False,
                   medianprops=dict(color=color if n > 1 else "tab:orange"))
        for x0, v in zip(pos, vals):  # every item, jittered
            xs = [x0 + 0.22 * width * ((i * 0.618) % 1 - 0.5) for i in range(len(v))]
            ax.scatter(xs, v, s=8, alpha=0.5, color=color, zorder=3,
                       label=attributor if n > 1 and x0 == pos[0] else None)
        top = max(top, max(max(v) for v in vals))  # the reward's mass is a share in [0, 1]
    ax.set_xticks(range(1, len(models) + 1), models)
    ax.set_xlim(0.5, len(models) + 0.5)
    ax.set_ylim(0, top * 1.02)
    ax.set_ylabel("attribution mass on forget owners")
    ax.set_title("Attribution of forget answers to forget owners", fontsize=10)
    if n > 1:
        ax.legend(title="attributor", fontsize=8, title_fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.01, 1), borderaxespad=0)  # outside: never over the points
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    return _save(fig, path)


def robustness(models: dict[str, dict], columns: dict[str, str], path: Path) -> bool:
    """Forget ROUGE each model gives back under each attack (`columns`: summary key -> label):
    one group of bars per attack, one bar per model; the oracle's bar is the floor to compare with."""
    keys = [k for k in columns if any(_number(s.get(k)) for s in models.values())]
    names = [m for m, s in models.items() if any(_number(s.get(k)) for k in keys)]
    if not keys or not names:
        return False
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 + 0.25 * len(names) * len(keys)) + 1.6, 4))
    others = itertools.cycle(["tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink",
                              "tab:gray", "tab:olive", "tab:cyan"])  # green, red: oracle, target
    for j, m in enumerate(names):
        color = {ORACLE: "tab:green", TARGET: "tab:red"}.get(m) or next(others)
        xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(keys))]
        ys = [models[m].get(k) if _number(models[m].get(k)) else 0.0 for k in keys]
        ax.bar(xs, ys, width * 0.9, label=m, color=color, hatch="//" if m == ORACLE else None,
               edgecolor="white" if m == ORACLE else None)
    ax.set_xticks(range(len(keys)), [columns[k] for k in keys])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("forget ROUGE-L recall recovered")
    ax.set_title("Robustness: what each attack pulls back out (oracle = floor)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
