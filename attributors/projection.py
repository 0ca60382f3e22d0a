"""Seeded random projections φ = Rᵀ d of P-dimensional gradients to k dimensions.

Two structures:

- dense (`RandomProjection`): one P × k matrix, applied in row chunks (below).
- kronecker (`KroneckerProjection`): per tracked layer, R_l = P_out ⊗ P_in, so a layer gradient
  D (d_out × d_in') maps to P_outᵀ D P_in (k_out × k_in), as in LoGra. Memory Σ (d_in·k_in +
  d_out·k_out) instead of P·k, and no regeneration cost — the one that scales to LLM layer sizes
  (a dense R for 20 M tracked parameters and k = 2048 would be 160 GB).

Dense:

R (P × k) is never held whole unless it fits `cache_mb`: rows [s, e) come from a generator seeded
by (seed, chunk index), so any chunk can be regenerated identically, and memory stays at one
chunk. Entries are scaled so that E[φ(x)ᵀ φ(y)] = xᵀ y:

- rademacher  ±1/√k
- gaussian    N(0, 1/k)
- orthogonal  a dense P × k matrix with orthonormal columns (k ≤ P) or rows (k ≥ P), times
              √(P/k) when k < P; must fit in memory. With k = P it is a rotation: the projected
              kernel solution equals the unprojected one (used by the tests).

The dense matrix is regenerated chunk by chunk on every call unless it fits `cache_mb`, so
callers project many examples per call (the TRAK attributor groups them).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

PROJECTIONS = ("rademacher", "gaussian", "orthogonal")
STRUCTURES = ("kronecker", "dense")


def _random(rows: int, cols: int, kind: str, gen: torch.Generator) -> Tensor:
    """(rows, cols) float32 with E[R Rᵀ] = I: ±1/√cols or N(0, 1/cols)."""
    if kind == "rademacher":
        r = torch.randint(0, 2, (rows, cols), generator=gen, dtype=torch.float32) * 2 - 1
    else:
        r = torch.randn(rows, cols, generator=gen)
    return r / math.sqrt(cols)


class RandomProjection:
    def __init__(self, n_params: int, dim: int, kind: str = "rademacher", seed: int = 0,
                 chunk_mb: float = 64.0, cache_mb: float = 512.0) -> None:
        self.P, self.k, self.kind, self.seed = n_params, dim, kind, seed
        # rows per chunk so that one (rows, k) float32 chunk is ≤ chunk_mb
        self.rows = max(1, min(n_params, int(chunk_mb * 2 ** 20 / (4 * dim))))
        self.bounds = [(s, min(s + self.rows, n_params)) for s in range(0, n_params, self.rows)]
        self._cache: list[Tensor] | None = None
        if kind == "orthogonal":
            if 4 * n_params * dim > cache_mb * 2 ** 20:
                from attributors.base import AttributorError

                raise AttributorError(f"an orthogonal projection of {n_params} parameters to {dim} "
                                      "dimensions does not fit in projection_cache_mb; use "
                                      "rademacher or gaussian.")
            self._cache = self._orthogonal().split(self.rows)
        elif 4 * n_params * dim <= cache_mb * 2 ** 20:
            self._cache = [self._chunk(i) for i in range(len(self.bounds))]

    def _chunk(self, i: int) -> Tensor:
        """Rows bounds[i] of R: (rows, k) float32."""
        s, e = self.bounds[i]
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        return _random(e - s, self.k, self.kind, gen)

    def _orthogonal(self) -> Tensor:
        gen = torch.Generator().manual_seed(self.seed)
        g = torch.randn(max(self.P, self.k), min(self.P, self.k), generator=gen,
                        dtype=torch.float64)
        q, _ = torch.linalg.qr(g)  # orthonormal columns
        r = q if self.P >= self.k else q.T  # (P, k)
        return (r * math.sqrt(max(self.P / self.k, 1.0))).float()

    def __call__(self, flat: Tensor) -> Tensor:
        """(n, P) -> (n, k) float32."""
        if flat.shape[1] != self.P:
            raise ValueError(f"projection built for {self.P} parameters, got {flat.shape[1]}")
        out = torch.zeros(flat.shape[0], self.k, device=flat.device)
        for i, (s, e) in enumerate(self.bounds):
            r = self._cache[i] if self._cache is not None else self._chunk(i)
            out += flat[:, s:e].float() @ r.to(flat.device)
        return out


class KroneckerProjection:
    """Per layer φ_l = vec(P_outᵀ D_l P_in); the layers' shares of `dim` are equal, each split
    into k_out · k_in ≈ share with k_in ≈ √share (capped by the layer's own sizes)."""

    def __init__(self, layout, dim: int, kind: str = "rademacher", seed: int = 0) -> None:
        if kind == "orthogonal":
            raise ValueError("projection=orthogonal needs projection_structure=dense")
        self.layout, self.P = layout, layout.size
        n = len(layout.layers)
        shares = [dim // n + (i < dim % n) for i in range(n)]
        gen = torch.Generator().manual_seed(seed)
        self.factors: list[tuple[Tensor, Tensor]] = []  # (d_out, k_out), (d_in', k_in)
        for layer, share in zip(layout.layers, shares):
            k_in = max(1, min(layer.d_in, round(math.sqrt(max(share, 1)))))
            k_out = max(1, min(layer.d_out, max(share, 1) // k_in))
            self.factors.append((_random(layer.d_out, k_out, kind, gen),
                                 _random(layer.d_in, k_in, kind, gen)))
        self.k = sum(po.shape[1] * pi.shape[1] for po, pi in self.factors)

    def __call__(self, flat: Tensor) -> Tensor:
        """(n, P) -> (n, k) float32."""
        parts = []
        for (p_out, p_in), d in zip(self.factors, self.layout.split(flat.float()).values()):
            p_out, p_in = p_out.to(d.device), p_in.to(d.device)
            parts.append((p_out.T @ d @ p_in).flatten(1))  # (n, k_out·k_in)
        return torch.cat(parts, dim=1)
