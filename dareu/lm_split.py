"""A causal LM as a body (→ last hidden states) and a head (hidden states → logits).

DareU's log-prob and KL forwards run the body only and apply the head a chunk of tokens at a time
(`dareu.rl.head`), so the (N, T, V) logits of a whole batch are never held. That is exact only when
the model's logits are `head(last hidden state)` with nothing after the head (Gemma-2's logit
soft-capping, Cohere's logit scale are not) and when the head is the same with LoRA adapters on
and off (the reference borrows the policy's head): `LMSplit.of` checks both on a two-token input
and otherwise splits the model as (whole model → logits, identity), the plain path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from dareu.models import is_peft


def _identity(x: Tensor) -> Tensor:
    return x


@dataclass(frozen=True)
class LMSplit:
    """How to split one model: `split(model)` → (body, head)."""

    exact: bool  # True: body = the transformer under the head; False: body = the whole model

    def __call__(self, model: nn.Module) -> tuple[nn.Module, Callable[[Tensor], Tensor]]:
        if not self.exact:
            return model, _identity
        base = model.get_base_model() if is_peft(model) else model
        return base.base_model, base.get_output_embeddings()

    @staticmethod
    def features(out) -> Tensor:
        """What the head takes from a body's output: logits for a whole model, else hidden states."""
        logits = getattr(out, "logits", None)
        return logits if logits is not None else out.last_hidden_state

    @classmethod
    @torch.no_grad()
    def of(cls, model: nn.Module) -> "LMSplit":
        """Split exactly when head(body(x)) reproduces model(x).logits and the head has no adapter."""
        from peft.tuners.tuners_utils import BaseTunerLayer

        base = model.get_base_model() if is_peft(model) else model
        head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
        body = getattr(base, "base_model", None)
        if head is None or body is None or body is base or isinstance(head, BaseTunerLayer):
            return cls(exact=False)
        ids = torch.tensor([[0, 1]], device=next(model.parameters()).device)
        was_training = model.training
        model.eval()
        try:
            logits = model(input_ids=ids).logits
            mine = head(body(input_ids=ids).last_hidden_state)
        finally:
            model.train(was_training)
        same = logits.shape == mine.shape and torch.allclose(logits.float(), mine.float(),
                                                              rtol=1e-4, atol=1e-5)
        return cls(exact=bool(same))
