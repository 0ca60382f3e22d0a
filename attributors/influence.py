"""Influence-function attribution, aggregated per owner at fit time.

score(q, owner) = ∇L(q)ᵀ v_owner,   v_owner = (H + λI)⁻¹ Σ_{z ∈ owner} ∇L(z)

L is the response NLL given the prompt, gradients are taken w.r.t. the tracked layers of a frozen
copy of the target (`attributors.gradients`), and H is one of `attributors.hessian.HESSIANS`.
Up-weighting owner o by ε changes the query loss by −ε ∇L(q)ᵀ H⁻¹ Σ ∇L(z), so a positive raw
score means the owner's data lowers the response's loss: the response is attributable to it.

Fit: one pass over the training records (two for ekfac) sums each owner's gradients and
estimates H; each owner's sum is preconditioned once (V: n_owners × P floats, kept in memory and
saved). Score: one backward per response and one (N, P) × (P, n_owners) matmul.
Rows of `score` are normalised as `attributors.gradient_attributor` describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from attributors.base import register_attributor
from attributors.gradient_attributor import GradientAttributor, GradientConfig
from attributors.hessian import HESSIANS, make_preconditioner


@dataclass
class InfluenceConfig(GradientConfig):
    hessian: str = "ekfac"
    """identity (gradient dot product), diagonal, kfac, ekfac or exact (dense; tiny layer sets)."""
    damping: float = 0.1
    """λ relative to the mean eigenvalue (mean diagonal for `diagonal`) of each layer's H."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hessian not in HESSIANS:
            raise ValueError(f"hessian={self.hessian!r}: use one of {', '.join(HESSIANS)}")
        if self.damping <= 0 and self.hessian != "identity":
            raise ValueError("damping must be positive")


@register_attributor("influence")
class InfluenceAttributor(GradientAttributor):
    Config = InfluenceConfig

    def _fit_examples(self, prompts: list[str], responses: list[str], owner_of: Tensor) -> None:
        s = self.session(self.model_paths()[0])
        pre = make_preconditioner(self.config.hessian, s.layout, self.config.damping)
        owner_sums = torch.zeros(len(self.owners), s.layout.size)  # (n_owners, P)
        start = 0
        for bg in self.gradients(s, prompts, responses):
            flat = s.layout.join(bg.grads).cpu()  # (B, P)
            owner_sums.index_add_(0, owner_of[start:start + len(flat)], flat)
            start += len(flat)
            pre.observe(bg)
        if pre.second_pass:
            pre.start_second_pass()
            for bg in self.gradients(s, prompts, responses):
                pre.observe_second(bg)
        pre.finalize()
        self.owner_vectors = pre.solve(owner_sums)  # (n_owners, P)

    def _raw(self, prompts: Sequence[str], responses: Sequence[str]) -> Tensor:
        s = self.session(self.model_paths()[0])
        v = self.owner_vectors.to(self.context.device)  # (n_owners, P)
        rows = [s.layout.join(bg.grads) @ v.T for bg in self.gradients(s, prompts, responses)]
        return torch.cat(rows)  # (N, n_owners)

    def state_dict(self) -> dict[str, Tensor]:
        return {**super().state_dict(), "owner_vectors": self.owner_vectors}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        self.owner_vectors = state["owner_vectors"]
