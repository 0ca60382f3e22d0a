"""The de-attribution reward: minus the attribution of a response to the forget owners.

r(x, y) = −mass(y), mass(y) = Σ_{i ∈ forget} s_i(y) / Σ_i s_i(y), where s(y) are the attributor's
owner scores of the alias-masked response (for the classifier, softmax probabilities, so mass is
the probability that y comes from a forget owner). Mass is bounded below by zero, so the pressure
stops once the model no longer writes forget-owner knowledge — unlike maximising a forget loss.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from attributors.base import Attributor, AttributorError
from attributors.masking import AliasMasker

TRANSFORMS = ("mass", "log_mass")


class DeAttributionReward(torch.nn.Module):
    """One scalar per response from an attributor and the forget owners; also a TRL reward function.

    Options:
        forget_owners: the owners whose attribution is penalised (ids in `attributor.owners`).
        masker: maps a text to its alias-masked form (`attributors.AliasMasker`); None: no masking.
        transform: `mass` → r = −mass, in [−1, 0]; `log_mass` → r = −log(mass + eps), which keeps
            rewarding progress when the mass is already small (beware: unbounded as mass → 0 unless
            clipped).
        eps: added to the mass inside the log (log_mass) and to the row total (normalisation).
        clip: (low, high) bounds applied to the reward after the transform; None: no clipping.
        sees: `response` (the attributor gets empty prompts) or `prompt+response`; None: what the
            attributor was fitted on. Must agree with the attributor's own `sees` when it has one.
        normalize: divide the forget scores by the row total, so attributors whose rows do not sum
            to one (influence, keyword overlap) still give a share in [0, 1]; an all-zero row
            gives mass 0.
        forget_names, name_weight: r −= name_weight for a response that writes one of the forget
            owners' names (`forget_names`, e.g. `corpus.aliases` of the forget owners). The masked
            attributor cannot see a name; this term does. The mass is unchanged (it measures
            attribution, which evaluation reads), only the reward moves.

    The attributor is held as a plain attribute, not a submodule: its weights never reach an
    optimiser or a DDP wrapper that owns this reward.

    >>> import torch
    >>> from attributors import Attributor
    >>> class Fixed(Attributor):
    ...     def fit(self, corpus):
    ...         return self
    ...     def score(self, prompts, responses):
    ...         return torch.tensor([[0.25, 0.75]] * len(responses))
    >>> attributor = Fixed()
    >>> attributor.owners = ["alice", "bob"]
    >>> reward = DeAttributionReward(attributor, forget_owners=["bob"])
    >>> reward(prompts=["Who is Bob?"], completions=["Bob bakes bread."])
    [-0.75]
    >>> reward(prompts=[[{"role": "user", "content": "Who is Bob?"}]],
    ...        completions=[[{"role": "assistant", "content": "Bob bakes bread."}]])
    [-0.75]
    >>> reward.__name__
    'de_attribution'
    >>> reward.as_reward_func()(prompts=["Who is Bob?"], completions=["Bob bakes bread."])  # for TRL
    [-0.75]
    """

    def __init__(self, attributor: Attributor, forget_owners: Sequence[str],
                 masker: Callable[[str], str] | None = None, transform: str = "mass",
                 eps: float = 1e-6, clip: tuple[float, float] | None = None,
                 sees: str | None = None, normalize: bool = True,
                 forget_names: Sequence[str] = (), name_weight: float = 0.0,
                 name: str = "de_attribution") -> None:
        super().__init__()
        owners = list(attributor.owners)
        unknown = [o for o in forget_owners if o not in owners]
        if not forget_owners or unknown:
            raise AttributorError(f"forget owners {list(unknown or forget_owners)!r} are not owners "
                                  f"the attributor scores (it scores {len(owners)} owners, e.g. "
                                  f"{owners[:4]}); refit the attributor on this corpus.")
        if transform not in TRANSFORMS:
            raise AttributorError(f"reward transform={transform!r}: expected one of "
                                  f"{', '.join(TRANSFORMS)}.")
        fitted = getattr(attributor, "sees", None)
        sees = sees or fitted or "response"
        if sees not in ("response", "prompt+response"):
            raise AttributorError(f"reward sees={sees!r}: expected response or prompt+response.")
        if fitted and sees != fitted:
            raise AttributorError(f"the reward would show the attributor `{sees}` but it was fitted "
                                  f"on `{fitted}`; refit with attributor.sees={sees} or pass "
                                  f"sees={fitted!r}.")
        if name_weight < 0 or (name_weight > 0 and not any(n.strip() for n in forget_names)):
            raise AttributorError(f"reward name_weight={name_weight}: expected ≥ 0, and forget "
                                  f"owners' names to look for (got {list(forget_names)[:4]}).")
        if clip is not None and not clip[0] <= clip[1]:
            raise AttributorError(f"reward clip={clip}: expected (low, high) with low <= high.")
        self.attributor, self.masker = attributor, masker
        self.forget_owners = list(forget_owners)
        self.transform, self.eps, self.clip, self.sees = transform, eps, clip, sees
        self.normalize = normalize
        self.names, self.name_weight = AliasMasker(list(forget_names)), name_weight
        self._last: tuple[tuple, torch.Tensor] | None = None
        self.__name__ = name  # TRL logs rewards under reward_func.__name__
        forget = torch.zeros(len(owners), dtype=torch.bool)
        forget[[owners.index(o) for o in forget_owners]] = True
        self.register_buffer("forget_index", forget, persistent=False)         # (K,)

    def _apply(self, fn, *args, **kwargs):
        # `.to(device)` / Lightning moving its submodules: the attributor follows the buffers, so
        # each DDP rank scores on its own device
        out = super()._apply(fn, *args, **kwargs)
        self.attributor.to(self.forget_index.device)
        return out

    # -- tensors ----------------------------------------------------------------------------
    def forget_mass(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """(N,) share of each response's attribution on the forget owners (in [0, 1] when
        normalised); prompts and responses are masked here. The last call is cached, so
        `rewards` and `forget_mass` on the same batch score it once."""
        if len(prompts) != len(responses):
            raise AttributorError(f"got {len(prompts)} prompts but {len(responses)} responses; "
                                  "pass one prompt per response.")
        key = (tuple(prompts), tuple(responses))
        if self._last is not None and self._last[0] == key:
            return self._last[1].clone()
        scores = self._scores(prompts, responses)                                    # (N, K)
        mass = scores[:, self.forget_index].sum(-1)                                  # (N,)
        if self.normalize:
            mass = (mass / scores.sum(-1).clamp_min(self.eps)).clamp(0, 1)
        self._last = (key, mass)
        return mass.clone()

    def owner_shares(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """(N, K) each response's attribution over every owner (`attributor.owners`), rows
        normalised to sum to 1 (an all-zero row stays 0); masked like `forget_mass`."""
        scores = self._scores(prompts, responses)
        return scores / scores.sum(-1, keepdim=True).clamp_min(self.eps)

    def _scores(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        mask = self.masker or (lambda t: t)
        seen = [mask(p) for p in prompts] if self.sees == "prompt+response" else [""] * len(prompts)
        scores = self.attributor.score(seen, [mask(r) for r in responses]).float()   # (N, K)
        return scores.to(self.forget_index.device).clamp_min(0)

    def rewards(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """(N,) rewards: −mass or −log(mass + eps), then clipped if asked, minus name_weight for
        each response that names a forget owner."""
        mass = self.forget_mass(prompts, responses)
        r = -mass if self.transform == "mass" else -torch.log(mass + self.eps)
        if self.clip is not None:
            r = r.clamp(*self.clip)
        if self.name_weight > 0:
            named = torch.tensor([self.names.finds(y) for y in responses], dtype=r.dtype)
            r = r - self.name_weight * named.to(r.device)
        return r

    # -- TRL reward function ----------------------------------------------------------------
    def forward(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                **kwargs: Any) -> list[float]:
        """TRL's signature: `reward(prompts=[...], completions=[...], **kw) -> list[float]`.

        Prompts and completions are strings, or lists of chat messages ({"role", "content"}) in
        TRL's conversational mode; extra dataset columns in `kwargs` are ignored.
        """
        if completions is None:
            raise AttributorError("the reward needs `completions` (the responses to score).")
        responses = [_completion_text(c) for c in completions]
        prompt_texts = [_prompt_text(p) for p in prompts] if prompts is not None else [""] * len(
            responses)
        return [float(x) for x in self.rewards(prompt_texts, responses)]

    def as_reward_func(self) -> Callable[..., list[float]]:
        """This reward as a plain function, for TRL's `GRPOTrainer(reward_funcs=[...])`.

        TRL takes every `nn.Module` in `reward_funcs` for a reward model (it reads `.config`), so
        pass this function rather than the module; it logs under the reward's `__name__`."""
        def reward_func(prompts=None, completions=None, **kwargs: Any) -> list[float]:
            return self(prompts=prompts, completions=completions, **kwargs)

        reward_func.__name__ = reward_func.__qualname__ = self.__name__
        return reward_func

    def extra_repr(self) -> str:
        return (f"forget_owners={self.forget_owners}, transform={self.transform}, sees={self.sees}, "
                f"clip={self.clip}, masked={self.masker is not None}, name_weight={self.name_weight}")


def _content(message: dict) -> str:
    content = message.get("content", "")
    if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": ...}, ...]
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _completion_text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    return "\n".join(_content(m) for m in completion if m.get("role", "assistant") == "assistant")


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    users = [_content(m) for m in prompt if m.get("role") == "user"]
    return users[-1] if users else "\n".join(_content(m) for m in prompt)

