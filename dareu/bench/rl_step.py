"""`dareu bench rl-step`: one RL optimiser step of DareU (grpo, ppo) against TRL's GRPOTrainer.

Same tiny random-init GPT-2 and tokenizer, same forget-owner prompts, G, max new tokens,
temperature 1, top-p 1, β, learning rate (constant), AdamW, grad-norm clip 1, "dapo" aggregation,
one generation per optimiser step (TRL: steps_per_generation=1, num_iterations=1; DareU:
ppo_epochs=1, minibatches=1, retain guard off) and the same reward callable: DareU's classifier
de-attribution reward, called by TRL through its `reward(prompts=, completions=)` signature.

Each side runs in a fresh subprocess per repetition (so each one's peak RSS is its own), the sides
alternate with a rotated order, and the first step of each process is a warm-up that is not timed.
DareU is driven by a Lightning Trainer with max_steps (as `dareu unlearn` drives it); TRL by
`GRPOTrainer.train()`. Also measured: (a) generation alone and (b) one forward+backward over the
same tokens (efficiency = (a + b) / step), a cProfile of one DareU step, and the cost of each
attributor's `score` on one step's responses.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from dareu.bench.common import fmt, run_worker, save_tiny_policy, summary, table, tiny_run, write_result
from dareu.bench.rl_step_workers import _overrides, worker

SIDES = ("trl", "grpo", "ppo")
ATTRIBUTORS = ("classifier", "influence", "trak")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dareu bench rl-step", description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=3, help="repetitions (fresh processes) per side")
    p.add_argument("--steps", type=int, default=3, help="timed optimiser steps per repetition")
    p.add_argument("--warmup", type=int, default=1, help="untimed first steps per process")
    p.add_argument("--prompts", type=int, default=4, help="prompts per optimiser step")
    p.add_argument("--group", type=int, default=4, help="G: completions per prompt")
    p.add_argument("--new-tokens", type=int, default=32, help="max new tokens")
    p.add_argument("--beta", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--vocab", type=int, default=1000,
                   help="policy vocabulary; the embedding and LM head are padded to it when the "
                   "tokenizer trained on the synthetic corpus is smaller")
    p.add_argument("--threads", type=int, default=0, help="torch threads per worker (0: default)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="where both sides run (policy, reference and reward; fp32 on both)")
    p.add_argument("--gradient-checkpointing", action="store_true",
                   help="on both sides (TRL's GRPOConfig turns it on by default; off here unless set)")
    p.add_argument("--sides", default=",".join(SIDES), help="comma list of trl, grpo, ppo")
    p.add_argument("--attributors", default=",".join(ATTRIBUTORS),
                   help="comma list for the reward-cost table ('' skips it)")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--work", default=None, help="scratch folder (default: a temp dir)")
    p.add_argument("--out", default=None, help="results folder (default: bench/results)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return p


# ---------------------------------------------------------------------------------------------
# Parent


def main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    scratch = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="dareu-bench-"))
    if a.worker:
        print(json.dumps(worker(a.worker, a, scratch)))
        return 0
    run, tok = tiny_run(_overrides(a, scratch))
    save_tiny_policy(run, tok, scratch / "policy", vocab=a.vocab)
    policy = __import__("transformers").AutoModelForCausalLM.from_pretrained(str(scratch / "policy"))
    params, vocab = sum(p.numel() for p in policy.parameters()), policy.config.vocab_size
    del policy
    print(f"[rl-step] policy vocab {vocab} (tokenizer {len(tok)}), {params} params", file=sys.stderr,
          flush=True)
    base = [x for x in argv if x not in ("--no-profile",)]
    base = _strip(base, ("--work", "--out")) + ["--work", str(scratch)]
    sides = [s for s in a.sides.split(",") if s]
    raw: dict[str, list[dict]] = {s: [] for s in sides + ["bound"]}
    for rep in range(a.reps):
        order = sides[rep % len(sides):] + sides[:rep % len(sides)]  # rotate: alternate who goes first
        for side in order + ["bound"]:
            print(f"[rl-step] rep {rep + 1}/{a.reps}: {side}", file=sys.stderr, flush=True)
            raw[side].append(run_worker("dareu.bench.rl_step", base + ["--worker", side]))
    result: dict = {"config": {"device": _device_name(a.device), "prompts": a.prompts,
                               "gradient_checkpointing": a.gradient_checkpointing, "group": a.group, "max_new_tokens": a.new_tokens,
                               "beta": a.beta, "lr": a.lr, "temperature": 1.0, "top_p": 1.0,
                               "loss_type": "dapo", "policy": f"gpt2 random-init {a.n_layer}x{a.n_embd}, "
                               f"vocab {vocab}, {params} params", "vocab": vocab,
                               "tokenizer_vocab": len(tok), "reps": a.reps, "steps": a.steps,
                               "warmup": a.warmup, "reward": "DareU classifier de-attribution reward",
                               "dareu_driver": "lightning.Trainer(max_steps) on DareUModule",
                               "trl_version": _version("trl")},
                    "sides": {}}
    for side in sides:
        steps = [t for r in raw[side] for t in r["step_s"]]
        tps = [n / t for r in raw[side] for n, t in zip(r["tokens"], r["step_s"])]
        result["sides"][side] = {"step_s": summary(steps), "tokens_per_s": summary(tps),
                                 "tokens_per_step": summary([n for r in raw[side] for n in r["tokens"]]),
                                 "peak_rss_increase_mb": summary([r["peak_rss_increase"] / 2**20
                                                                  for r in raw[side]])}
        if a.device == "cuda":
            result["sides"][side]["peak_gpu_mb"] = summary([r["peak_gpu"] / 2**20 for r in raw[side]])
    s = result["sides"]
    if "trl" in s:
        for side in ("grpo", "ppo"):
            if side in s:
                s[side]["ratio_step_vs_trl"] = s[side]["step_s"]["median"] / s["trl"]["step_s"]["median"]
                s[side]["ratio_rss_vs_trl"] = (s[side]["peak_rss_increase_mb"]["median"]
                                               / s["trl"]["peak_rss_increase_mb"]["median"])
                if "peak_gpu_mb" in s[side]:
                    s[side]["ratio_gpu_mem_vs_trl"] = (s[side]["peak_gpu_mb"]["median"]
                                                       / s["trl"]["peak_gpu_mb"]["median"])
    gen = [t for r in raw["bound"] for t in r["generate_s"]]
    fb = [t for r in raw["bound"] for t in r["fwd_bwd_s"]]
    bound = {"generate_s": summary(gen), "fwd_bwd_s": summary(fb),
             "tokens": summary([n for r in raw["bound"] for n in r["tokens"]])}
    if "grpo" in s:
        bound["efficiency_grpo"] = (bound["generate_s"]["median"] + bound["fwd_bwd_s"]["median"]) \
            / s["grpo"]["step_s"]["median"]
    result["bound"] = bound
    if not a.no_profile:
        print("[rl-step] profile", file=sys.stderr, flush=True)
        result["profile"] = run_worker("dareu.bench.rl_step", base + ["--worker", "profile"])
    if a.attributors:
        print("[rl-step] reward cost", file=sys.stderr, flush=True)
        rw = run_worker("dareu.bench.rl_step", base + ["--worker", "reward"])
        step = s["grpo"]["step_s"]["median"] if "grpo" in s else float("nan")
        result["reward_cost"] = {name: {"score_s": summary(ts), "share_of_grpo_step":
                                        summary(ts)["median"] / step}
                                 for name, ts in rw["score_s"].items()}
        result["reward_cost_responses"] = rw["responses"]
    path = write_result("rl-step", result, a.out)
    print(render(result))
    print(f"\nwritten {path}")
    return 0


def render(r: dict) -> str:
    c = r["config"]
    lines = [f"RL step on {c.get('device', 'cpu')}: {c['policy']}; {c['prompts']} prompts × G={c['group']}, ≤{c['max_new_tokens']} "
             f"new tokens, β={c['beta']}, lr={c['lr']}; {c['reps']} processes × {c['steps']} steps "
             "per side; median (min–max)", ""]
    rows, gpu = [], any("peak_gpu_mb" in v for v in r["sides"].values())
    for side, v in r["sides"].items():
        name = {"trl": f"TRL GRPOTrainer {c['trl_version']}", "grpo": "DareU grpo",
                "ppo": "DareU ppo"}[side]
        ratio = lambda k: f"{v[k]:.2f}" if k in v else "—"  # noqa: E731
        rows.append([name, fmt(v["step_s"]), fmt(v["tokens_per_s"]), fmt(v["tokens_per_step"]),
                     fmt(v["peak_rss_increase_mb"]), ratio("ratio_step_vs_trl"), ratio("ratio_rss_vs_trl")]
                    + ([fmt(v["peak_gpu_mb"]), ratio("ratio_gpu_mem_vs_trl")] if gpu else []))
    lines.append(table(["side", "s / optimiser step", "generated tokens/s", "tokens/step",
                        "peak RSS increase (MiB)", "step ratio vs TRL", "RSS ratio vs TRL"]
                       + (["peak GPU MiB", "GPU memory ratio vs TRL"] if gpu else []), rows))
    b = r["bound"]
    lines += ["", table(["(a) generate alone (s)", "(b) fwd+bwd (s)", "tokens", "efficiency (a+b)/grpo step"],
                        [[fmt(b["generate_s"]), fmt(b["fwd_bwd_s"]), fmt(b["tokens"]),
                          f"{b.get('efficiency_grpo', float('nan')):.2f}"]])]
    if "profile" in r:
        p = r["profile"]
        lines += ["", f"cProfile of one DareU grpo step ({p['step_s']:.3f} s), cumulative:",
                  table(["part", "s", "share"], [[k, f"{v:.4f}", f"{v / p['step_s']:.0%}"]
                                                 for k, v in sorted(p["breakdown_s"].items(),
                                                                    key=lambda kv: -kv[1])]),
                  "", "top self time:",
                  table(["function", "self s", "cum s"], [[t["function"], f"{t['self_s']:.4f}",
                                                           f"{t['cum_s']:.4f}"]
                                                          for t in p["top_self_time"][:10]])]
    if "reward_cost" in r:
        lines += ["", f"attributor.score on one step's {r['reward_cost_responses']} responses:",
                  table(["attributor", "score s", "share of grpo step"],
                        [[k, fmt(v["score_s"]), f"{v['share_of_grpo_step']:.1%}"]
                         for k, v in r["reward_cost"].items()])]
    return "\n".join(lines)


def _device_name(device: str) -> str:
    return torch.cuda.get_device_name(0) if device == "cuda" else "cpu"


def _strip(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    out, skip = [], False
    for x in argv:
        if skip:
            skip = False
            continue
        if x in flags:
            skip = True
            continue
        if any(x.startswith(f + "=") for f in flags):
            continue
        out.append(x)
    return out


def _version(pkg: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(pkg)
    except Exception:
        return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
