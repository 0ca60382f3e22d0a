"""TRAK-style attribution: projected gradients and a kernel regression, aggregated per owner.

φ(x) = Rᵀ ∇L(x) (R: a seeded random projection of the P tracked parameters to k dimensions,
Kronecker-factored per layer by default or dense, `attributors.projection`), Φ = the training
features (N × k), and

score(q, owner) = φ(q)ᵀ (ΦᵀΦ + λI)⁻¹ Σ_{z ∈ owner} φ(z) = φ(q)ᵀ u_owner

with λ = damping × mean eigenvalue of ΦᵀΦ (= trace / k). The k × k system is solved in float64;
when N < k the same u = Φᵀ (ΦΦᵀ + λI)⁻¹ E (E: N × n_owners one-hot) costs an N × N solve
instead. TRAK's (1 − p) re-weighting for classifiers has no counterpart for an LM loss and is
left out. With several `checkpoints` (e.g. target checkpoints saved during training) each gets
its own features and u, and scores are averaged — TRAK's ensemble.

Every checkpoint model stays loaded for scoring (memory: n_checkpoints models).

Fit: one pass per checkpoint; memory Φ (N × k) plus the projection (kronecker) or one chunk of it
(dense: examples are projected in groups of ≤ `projection_batch_mb` of gradients, so each chunk
is generated once per group). Score: one backward per response per checkpoint, one projection,
one (N, k) × (k, n_owners) matmul.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor

from attributors.base import register_attributor
from attributors.gradient_attributor import GradientAttributor, GradientConfig
from attributors.projection import (PROJECTIONS, STRUCTURES, KroneckerProjection,
                                    RandomProjection)


@dataclass
class TrakConfig(GradientConfig):
    projection_dim: int = 2048
    """k; kronecker may use slightly fewer (each layer's k_out · k_in ≤ its share)."""
    projection: str = "rademacher"
    """rademacher, gaussian, or orthogonal (dense only; for small tracked sets)."""
    projection_structure: str = "kronecker"
    """kronecker (per-layer factors: fast, small) or dense (one P × k matrix, in chunks)."""
    damping: float = 0.01
    """λ relative to the mean eigenvalue of ΦᵀΦ."""
    checkpoints: list[str] = field(default_factory=list)
    """Model folders to ensemble over; empty = the attributor model alone."""
    projection_chunk_mb: float = 64.0
    projection_cache_mb: float = 512.0
    """dense: keep the whole matrix in memory when it is at most this size (faster scoring)."""
    projection_batch_mb: float = 256.0
    """dense: gradients gathered before each projection pass."""
    seed: int | None = None
    """Projection seed; None = the run's seed."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection={self.projection!r}: use one of {', '.join(PROJECTIONS)}")
        if self.projection_structure not in STRUCTURES:
            raise ValueError(f"projection_structure={self.projection_structure!r}: use one of "
                             f"{', '.join(STRUCTURES)}")
        if self.projection == "orthogonal" and self.projection_structure != "dense":
            raise ValueError("projection=orthogonal needs projection_structure=dense")
        if self.projection_dim < 1 or self.damping <= 0:
            raise ValueError("projection_dim and damping must be positive")
        if isinstance(self.checkpoints, str):
            self.checkpoints = [self.checkpoints]


@register_attributor("trak")
class TrakAttributor(GradientAttributor):
    Config = TrakConfig

    def __init__(self, config=None, context=None) -> None:
        super().__init__(config, context)
        self._projection = None  # built from the first model's tracked layers

    def model_paths(self) -> list[str]:
        return [str(p) for p in self.config.checkpoints] or super().model_paths()

    @property
    def uses_target(self) -> bool:
        return not self.config.checkpoints and super().uses_target

    def projection(self, layout):
        """The same R for every checkpoint (same architecture, same tracked layers)."""
        if self._projection is None:
            c = self.config
            seed = self.context.seed if c.seed is None else c.seed
            if c.projection_structure == "kronecker":
                self._projection = KroneckerProjection(layout, c.projection_dim, c.projection, seed)
            else:
                self._projection = RandomProjection(layout.size, c.projection_dim, c.projection,
                                                    seed, c.projection_chunk_mb,
                                                    c.projection_cache_mb)
        return self._projection

    def features(self, path: str, prompts: Sequence[str], responses: Sequence[str]) -> Tensor:
        """(N, k) projected gradients under the model at `path`."""
        s = self.session(path)
        project = self.projection(s.layout)
        group_size = max(1, int(self.config.projection_batch_mb * 2 ** 20 / (4 * s.layout.size)))
        out, group = [], []
        for bg in self.gradients(s, prompts, responses):
            group.append(s.layout.join(bg.grads))  # (B, P)
            if sum(len(g) for g in group) >= group_size:
                out.append(project(torch.cat(group)).cpu())
                group = []
        if group:
            out.append(project(torch.cat(group)).cpu())
        return torch.cat(out)  # (N, k)

    def _fit_examples(self, prompts: list[str], responses: list[str], owner_of: Tensor) -> None:
        onehot = torch.zeros(len(owner_of), len(self.owners), dtype=torch.float64)
        onehot[torch.arange(len(owner_of)), owner_of] = 1.0  # E: (N, n_owners)
        us = []
        for path in self.model_paths():
            phi = self.features(path, prompts, responses).double()  # Φ: (N, k)
            us.append(kernel_solve(phi, onehot, self.config.damping).float())
        self.owner_vectors = torch.stack(us)  # (n_checkpoints, k, n_owners)

    def _raw(self, prompts: Sequence[str], responses: Sequence[str]) -> Tensor:
        total = 0
        for path, u in zip(self.model_paths(), self.owner_vectors):
            total = total + self.features(path, prompts, responses) @ u  # (N, n_owners)
        return total / len(self.owner_vectors)

    def state_dict(self) -> dict[str, Tensor]:
        return {**super().state_dict(), "owner_vectors": self.owner_vectors}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        self.owner_vectors = state["owner_vectors"]


def kernel_solve(phi: Tensor, targets: Tensor, damping: float) -> Tensor:
    """u = (ΦᵀΦ + λI)⁻¹ Φᵀ E with λ = damping · trace(ΦᵀΦ) / k.   Φ: (N, k), E: (N, m) -> (k, m)."""
    n, k = phi.shape
    lam = damping * float((phi ** 2).sum()) / k
    lam = lam if lam > 0 else damping
    if n < k:  # push-through identity: (ΦᵀΦ + λI)⁻¹ Φᵀ = Φᵀ (ΦΦᵀ + λI)⁻¹
        chol = torch.linalg.cholesky(phi @ phi.T + lam * torch.eye(n, dtype=phi.dtype))
        return phi.T @ torch.cholesky_solve(targets, chol)
    chol = torch.linalg.cholesky(phi.T @ phi + lam * torch.eye(k, dtype=phi.dtype))
    return torch.cholesky_solve(phi.T @ targets, chol)
