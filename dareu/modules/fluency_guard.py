"""DareU's degenerate-text guard: r −= fluency_weight · penalty(per-token NLL under the judge).

The maths is in `dareu.rl.fluency`; this class holds what the guard keeps across steps: the
threshold τ (measured on the first rollout, on the `fluency_anchor`, then fixed and checkpointed)
and the judge whose NLL it reads, the reference unless `set_judge` gave another model
(unlearn.reward.fluency.judge=base).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from dareu.config import Config
from dareu.modules.rollout import Logits, RankMean, Rollout
from dareu.rl import (fluency_penalty, fluency_threshold, foreign_answers, response_nll,
                      token_logprobs, uses_foreign_anchor)


class FluencyGuard:
    """The fluency guard of one DareU run. Not an `nn.Module`: the judge it holds is never trained,
    saved or checkpointed; only the threshold goes into checkpoints (`state_dict`)."""

    def __init__(self, cfg: Config, policy, forget_texts: Sequence[str],
                 retain_answers: Sequence[str]) -> None:
        """`policy`: a `dareu.Policy` (its reference is the default judge); `forget_texts`: the
        formatted forget prompts and `retain_answers` the retain owners' answers, the
        foreign anchor's inputs (`dareu.rl.foreign_answers`)."""
        self.cfg, self.policy = cfg, policy
        self.forget_texts, self.retain_answers = list(forget_texts), list(retain_answers)
        self.threshold: float | None = None  # τ, set on the first rollout
        self.judge: nn.Module | None = None  # None: the reference judges

    def set_judge(self, judge: nn.Module) -> None:
        """Judge fluency under `judge` instead of the reference, frozen and in eval mode."""
        self.judge = judge.eval().requires_grad_(False)

    def penalise(self, ro: Rollout, logits: Logits, rank_mean: RankMean) -> None:
        """Set `ro.penalty` (N,) and charge it to `ro.rewards`: the full penalty for responses
        under min_response_tokens. On the first call τ is measured on the anchor, the mean over
        ranks (`rank_mean`) so that every rank judges on the same scale. `logits`: the forward
        the judge's NLL goes through (the module's own, positions as `generate` numbered them)."""
        u = self.cfg.unlearn
        nll = self.judge_nll(ro, logits) if self.judge is not None else response_nll(ro.ref_logp, ro.mask)
        if self.threshold is None:  # the first rollout is the reference's own answers
            foreign = uses_foreign_anchor("foreign", self.retain_answers)
            anchor = self.foreign_nll() if foreign else nll
            tau = torch.tensor(fluency_threshold(anchor, u.reward.fluency.margin), device=ro.mask.device)
            self.threshold = float(rank_mean(tau))
        ro.penalty = fluency_penalty(nll, ro.mask.sum(1), self.threshold)  # (N,)
        if u.reward.fluency.weight > 0:
            ro.rewards = ro.rewards - u.reward.fluency.weight * ro.penalty

    @torch.no_grad()
    def foreign_nll(self) -> Tensor:
        """Per-token NLL under the judge of retain answers put after forget prompts
        (`dareu.rl.foreign_answers`): the anchor of `fluency_anchor=foreign`."""
        from dareu.scoring import score_responses

        answers = foreign_answers(self.retain_answers, len(self.forget_texts), self.cfg.unlearn.seed)
        texts = self.forget_texts[:len(answers)]
        ctx = nullcontext(self.judge) if self.judge is not None else self.policy.reference()
        with ctx as judge:
            scores = score_responses(judge, self.policy.tokenizer, texts, answers,
                                     self.cfg.model.max_length, self.cfg.unlearn.retain.batch_size)
        return scores.avg_nll.float()

    @torch.no_grad()
    def judge_nll(self, ro: Rollout, logits: Logits, rows: int = 8) -> Tensor:
        """Per-token NLL (N,) of each response under the judge, `rows` responses at a time
        (full-vocabulary logits of a whole rollout would not fit for a large model)."""
        judge, n, device = self.judge, ro.mask.shape[1], ro.sequences.device
        if judge.device != device and not getattr(judge, "is_loaded_in_4bit", False):
            judge.to(device)  # a 4-bit judge was loaded in place
        logp = []
        for i in range(0, ro.sequences.shape[0], rows):
            out = logits(judge, ro.sequences[i:i + rows], ro.attention_mask[i:i + rows], n)[0]
            logp.append(token_logprobs(out, ro.responses[i:i + rows]))
        return response_nll(torch.cat(logp), ro.mask)

    # -- checkpoints: the same key as when τ was an attribute of the module ----------------------
    def state_dict(self) -> dict[str, Any]:
        return {"fluency_threshold": self.threshold}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.threshold = state.get("fluency_threshold")
