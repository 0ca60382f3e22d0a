"""Curvature estimates H of the training loss and the damped solve v ↦ (H + λI)⁻¹ v.

All are built from the per-example gradients D_i (and their factors a_t, g_t) of the N training
examples, in the canonical (d_out, d_in') layout of `attributors.gradients`:

- identity  H = 0, no damping: influence becomes the plain gradient dot product.
- diagonal  H = diag of the empirical Fisher, (1/N) Σ_i D_i ⊙ D_i.
- kfac      per layer H ≈ G ⊗ A with A = E_token[a aᵀ], G = (1/N) Σ_i Σ_t g gᵀ (the empirical
            Fisher when an example has one token). With A = Q_A Λ_A Q_Aᵀ and G = Q_G Λ_G Q_Gᵀ,
            (G ⊗ A + λI)⁻¹ vec(V) = vec(Q_G [(Q_Gᵀ V Q_A) / (λ_G λ_Aᵀ + λ)] Q_Aᵀ).
- ekfac     as kfac, but the eigenvalues λ_G λ_Aᵀ are replaced by the second moment of the
            per-example gradients in the K-FAC eigenbasis, (1/N) Σ_i (Q_Gᵀ D_i Q_A)² (a second
            pass).
- exact     the dense empirical Fisher (1/N) Σ_i vec(D_i) vec(D_i)ᵀ (P × P): tests and tiny models.

Damping is relative, so it does not depend on the loss scale: λ = damping × the mean eigenvalue of
the layer's H (kfac, ekfac), the mean of the layer's diagonal (diagonal), or trace(H)/P (exact).
"""

from __future__ import annotations

import torch
from torch import Tensor

from attributors.gradients import BatchGradients, Layout

HESSIANS = ("identity", "diagonal", "kfac", "ekfac", "exact")


class Preconditioner:
    """Identity: (H + λI)⁻¹ v = v. Subclasses accumulate statistics in `observe`."""

    second_pass = False

    def __init__(self, layout: Layout, damping: float) -> None:
        self.layout, self.damping, self.n = layout, damping, 0

    def observe(self, bg: BatchGradients) -> None:
        self.n += bg.losses.shape[0]

    def start_second_pass(self) -> None:
        pass

    def observe_second(self, bg: BatchGradients) -> None:
        pass

    def finalize(self) -> None:
        pass

    def solve(self, flat: Tensor) -> Tensor:
        """(n, P) -> (n, P): (H + λI)⁻¹ applied to each row."""
        return flat


class Diagonal(Preconditioner):
    def __init__(self, layout: Layout, damping: float) -> None:
        super().__init__(layout, damping)
        self.sumsq = torch.zeros(layout.size, dtype=torch.float64)  # (P,)

    def observe(self, bg: BatchGradients) -> None:
        super().observe(bg)
        self.sumsq += (self.layout.join(bg.grads) ** 2).sum(0).double().cpu()

    def finalize(self) -> None:
        diag = self.sumsq / max(self.n, 1)  # (P,)
        for s, e in zip(self.layout.offsets, self.layout.offsets[1:]):
            diag[s:e] += self.damping * diag[s:e].mean()
        self.denominator = diag.float()

    def solve(self, flat: Tensor) -> Tensor:
        return flat / self.denominator.to(flat.device)


class Exact(Preconditioner):
    """Dense empirical Fisher; refuses parameter sets above `max_params` (P² memory)."""

    def __init__(self, layout: Layout, damping: float, max_params: int = 8192) -> None:
        super().__init__(layout, damping)
        if layout.size > max_params:
            from attributors.base import AttributorError

            raise AttributorError(f"hessian=exact needs a dense {layout.size}² matrix; track fewer "
                                  f"parameters (≤ {max_params}) or use kfac / ekfac / diagonal.")
        self.fisher = torch.zeros(layout.size, layout.size, dtype=torch.float64)  # (P, P)

    def observe(self, bg: BatchGradients) -> None:
        super().observe(bg)
        d = self.layout.join(bg.grads).double().cpu()  # (B, P)
        self.fisher += d.T @ d

    def finalize(self) -> None:
        h = self.fisher / max(self.n, 1)
        lam = self.damping * h.diagonal().mean()
        self.chol = torch.linalg.cholesky(h + lam * torch.eye(len(h), dtype=h.dtype))

    def solve(self, flat: Tensor) -> Tensor:
        x = torch.cholesky_solve(flat.double().T.cpu(), self.chol).T  # (n, P)
        return x.to(flat.dtype).to(flat.device)


class KFAC(Preconditioner):
    def __init__(self, layout: Layout, damping: float) -> None:
        super().__init__(layout, damping)
        self.A = {l.name: torch.zeros(l.d_in, l.d_in, dtype=torch.float64) for l in layout.layers}
        self.G = {l.name: torch.zeros(l.d_out, l.d_out, dtype=torch.float64) for l in layout.layers}
        self.tokens = {l.name: 0 for l in layout.layers}

    def observe(self, bg: BatchGradients) -> None:
        super().observe(bg)
        for l in self.layout.layers:  # products on the gradients' device, sums in float64 on CPU
            a = bg.inputs[l.name].flatten(0, 1)  # (B·T, d_in'), zero on padding
            g = bg.outgrads[l.name].flatten(0, 1)  # (B·T, d_out)
            self.A[l.name] += (a.T @ a).double().cpu()
            self.G[l.name] += (g.T @ g).double().cpu()
            self.tokens[l.name] += bg.tokens[l.name]

    def _eigenbasis(self) -> None:
        self.QA, self.QG, self.eig = {}, {}, {}
        for l in self.layout.layers:
            la, qa = torch.linalg.eigh(self.A[l.name] / max(self.tokens[l.name], 1))
            lg, qg = torch.linalg.eigh(self.G[l.name] / max(self.n, 1))
            self.QA[l.name], self.QG[l.name] = qa, qg
            self.eig[l.name] = torch.outer(lg.clamp(min=0), la.clamp(min=0))  # (d_out, d_in')

    def finalize(self) -> None:
        if not hasattr(self, "QA"):
            self._eigenbasis()
        self.denominator = {k: e + self.damping * e.mean() for k, e in self.eig.items()}

    def solve(self, flat: Tensor) -> Tensor:
        out = {}
        for name, v in self.layout.split(flat.double().cpu()).items():  # v: (n, d_out, d_in')
            qg, qa = self.QG[name], self.QA[name]
            rotated = qg.T @ v @ qa / self.denominator[name]
            out[name] = qg @ rotated @ qa.T
        return self.layout.join(out).to(flat.dtype).to(flat.device)


class EKFAC(KFAC):
    second_pass = True

    def start_second_pass(self) -> None:
        self._eigenbasis()
        self.moment = {k: torch.zeros_like(e) for k, e in self.eig.items()}
        self._bases: dict = {}  # float32 copies of the eigenbases on the gradients' device

    def observe_second(self, bg: BatchGradients) -> None:
        for name, d in bg.grads.items():  # d: (B, d_out, d_in')
            if name not in self._bases:
                self._bases[name] = (self.QG[name].to(d), self.QA[name].to(d))
            qg, qa = self._bases[name]
            self.moment[name] += ((qg.T @ d @ qa) ** 2).sum(0).double().cpu()

    def finalize(self) -> None:
        self.eig = {k: m / max(self.n, 1) for k, m in self.moment.items()}
        super().finalize()


def make_preconditioner(kind: str, layout: Layout, damping: float) -> Preconditioner:
    classes = {"identity": Preconditioner, "diagonal": Diagonal, "kfac": KFAC, "ekfac": EKFAC,
               "exact": Exact}
    return classes[kind](layout, damping)
