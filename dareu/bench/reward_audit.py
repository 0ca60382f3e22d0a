"""`dareu bench reward-audit RUN_DIR`: can degenerate text earn the reward of a good answer?

On a finished `dareu prepare` + `dareu fit-attributor` run directory, score with the run's
default reward (forget mass under its attributor, minus the fluency guard under its judge: the
target as reference, or the pretrained base with unlearn.reward.fluency.judge=base; exactly as DareU
computes it) the greedy answers of the oracle to the forget prompts
(what a perfect unlearning would say), the true forget answers, the target's own sampled answers,
and degenerate text: empty answers, one token repeated, random letter strings, shuffled words of
retain answers, "I don't know". Prints the mean forget mass, per-token NLL under the judge,
penalty and reward of each case, and the margin (oracle reward − case reward); writes them to
bench/results/reward-audit-<corpus>.json.
"""

from __future__ import annotations

import argparse
import random
import string
from pathlib import Path

import torch

from dareu.bench.common import table, write_result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dareu bench reward-audit", description=__doc__.splitlines()[0])
    p.add_argument("run_dir", help="a run directory with target, oracle and a fitted attributor")
    p.add_argument("--samples", type=int, default=4, help="target samples per forget prompt (its "
                   "own fluency, which sets the guard's threshold as on DareU's first rollout)")
    p.add_argument("--random", type=int, default=200, help="random letter strings")
    p.add_argument("overrides", nargs="*", help="recipe overrides (e.g. unlearn.reward.fluency.margin=3)")
    p.add_argument("--out", default=None, help="results folder (default bench/results)")
    return p


def degenerate_cases(forget_answers: list[str], retain_answers: list[str], n_random: int,
                     seed: int = 0) -> dict[str, list[str]]:
    """The texts a reward must not mistake for good answers, one list per case (seeded)."""
    rng = random.Random(seed)
    n = len(forget_answers)
    letters = string.ascii_lowercase + " "
    shuffled = []
    for a in (retain_answers * (n // max(len(retain_answers), 1) + 1))[:max(n, 20)]:
        words = a.split()
        rng.shuffle(words)
        shuffled.append(" ".join(words))
    return {"empty": [""] * n,
            "one token repeated": ["the " * 20] * n,
            "random letters": ["".join(rng.choice(letters) for _ in range(rng.randint(10, 80)))
                               for _ in range(n_random)],
            "shuffled retain words": shuffled,
            "I don't know": ["I don't know."] * n}


def main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    from dareu.config import load_config
    from dareu.generation import generate
    from dareu.pipeline import Run
    from dareu.stages.objects import reward as run_reward
    from dareu.rl import fluency_penalty, fluency_threshold, foreign_answers, uses_foreign_anchor
    from dareu.scoring import score_responses
    from dareu.models import load_causal_lm

    run_dir = Path(a.run_dir)
    run = Run(load_config(str(run_dir / "config.yaml"), [*a.overrides, f"run.output_dir={run_dir}"]))
    cfg, u, corpus = run.cfg, run.cfg.unlearn, run.corpus
    reward = run_reward(run)
    target = load_causal_lm(run.target_dir, cfg.model, mode="full", trainable=False)
    oracle = load_causal_lm(run.oracle_dir, cfg.model, mode="full", trainable=False)
    judge = (load_causal_lm(run.base_dir, cfg.model, mode="full", trainable=False)
             if u.reward.fluency.judge == "base" else target)  # whose NLL the guard reads
    forget = corpus.forget
    prompts = [r.prompt for r in forget]
    texts = [run.prompt_text(p) for p in prompts]
    torch.manual_seed(cfg.run.seed)
    own = generate(target, run.tokenizer, [t for t in texts for _ in range(a.samples)],
                   u.sampling.max_new_tokens, do_sample=True, temperature=u.sampling.temperature)
    cases = {"oracle greedy": generate(oracle, run.tokenizer, texts, cfg.eval.max_new_tokens),
             "true forget answers": [r.response for r in forget],
             "target samples": own,
             **degenerate_cases([r.response for r in forget], [r.response for r in corpus.retain],
                                a.random, cfg.run.seed)}

    def nll(answers: list[str], repeat: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token NLL under the fluency judge; answer i goes with prompt i // repeat (cycled)."""
        ps = [texts[(i // repeat) % len(texts)] for i in range(len(answers))]
        s = score_responses(judge, run.tokenizer, ps, answers, cfg.model.max_length, 32)
        return s.avg_nll.float(), s.num_tokens

    # the own samples were drawn a.samples per prompt in order: pair them with their prompts
    retain_answers = [r.response for r in corpus.retain]
    anchor = (nll(foreign_answers(retain_answers, len(texts), u.seed))[0]
              if uses_foreign_anchor("foreign", retain_answers) else nll(own, repeat=a.samples)[0])
    tau = fluency_threshold(anchor, u.reward.fluency.margin)
    rows, results = [], {}
    for name, answers in cases.items():
        repeat = a.samples if name == "target samples" else 1  # drawn a.samples per prompt
        ps = [prompts[(i // repeat) % len(prompts)] for i in range(len(answers))]
        mass = reward.forget_mass(ps, answers).float()
        n, lengths = nll(answers, repeat)
        pen = fluency_penalty(n, lengths, tau)
        r = reward.rewards(ps, answers).float() - u.reward.fluency.weight * pen
        results[name] = {"n": len(answers), "forget_mass": round(float(mass.mean()), 4),
                         "nll_per_token": round(float(n[torch.isfinite(n)].mean()), 3)
                         if torch.isfinite(n).any() else None,
                         "penalty": round(float(pen.mean()), 4), "reward": round(float(r.mean()), 4),
                         "reward_attribution_only": round(float(-mass.mean()), 4)}
    base = results["oracle greedy"]["reward"]
    for name, res in results.items():
        res["margin_vs_oracle"] = round(base - res["reward"], 4)
        rows.append([name, res["n"], res["forget_mass"], res["nll_per_token"], res["penalty"],
                     res["reward"], res["margin_vs_oracle"]])
    print(f"reward audit of {run_dir} ({corpus.name}; judge: {u.reward.fluency.judge}; threshold τ = "
          f"{tau:.2f} nats/token = the judge's median on the retain answers "
          f"{tau - u.reward.fluency.margin:.2f} + margin {u.reward.fluency.margin}; "
          f"weight {u.reward.fluency.weight})")
    print(table(["case", "n", "forget mass", "NLL/token (judge)", "penalty", "reward",
                 "oracle − case"], rows))
    worst = min(res["margin_vs_oracle"] for k, res in results.items()
                if k not in ("oracle greedy", "true forget answers", "target samples"))
    print(f"smallest degenerate margin: {worst:.3f} (goal: ≥ 0.3)")
    path = write_result(f"reward-audit-{corpus.name}", {
        "run_dir": str(run_dir), "fluency_judge": u.reward.fluency.judge,
        "threshold": round(tau, 3), "fluency_margin": u.reward.fluency.margin,
        "fluency_weight": u.reward.fluency.weight,
        "attributor": cfg.attributor.name, "cases": results,
        "smallest_degenerate_margin": worst}, a.out)
    print(f"written to {path}")
    return 0
