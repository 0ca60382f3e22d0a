"""Per-example gradients of a frozen LM's response loss, for the tracked linear layers only.

For a linear layer y = W a (+ b), one example's weight gradient is a sum over its tokens of outer
products: dL/dW = Σ_t g_t a_tᵀ, with a_t the layer input and g_t = dL/dy_t. Forward hooks capture
a_t, `torch.autograd.grad` w.r.t. the captured outputs gives g_t for the whole batch at once, and
one einsum gives every example's gradient. No `torch.func.vmap` (it crashes on 4-bit models), no
weight `.grad` (weights stay frozen): the input embeddings are made to require grad, so gradients
reach every activation even when no parameter is trainable — which also lets 4-bit base layers be
tracked. The same a_t, g_t give K-FAC factors for free.

Canonical layout: every tracked layer's gradient is a (d_out, d_in') matrix with d_in' = d_in + 1
when the layer has a bias (the bias gradient is the last column: the input is augmented with a 1).
GPT-2's Conv1D stores W transposed; the layout hides that. `Layout` flattens layers into one
vector of P parameters, in tracked order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from dareu.data.formatting import IGNORE, encode_pair, format_prompt, pad_batch
from dareu.rl.logprobs import masked_mean, masked_sum, shift_for_causal_lm, token_logprobs


# ---------------------------------------------------------------------------------------------
# Which layers are tracked


@dataclass(frozen=True)
class TrackedLayer:
    name: str
    d_out: int
    d_in: int  # including the bias column
    has_bias: bool

    @property
    def size(self) -> int:
        return self.d_out * self.d_in


def _is_linear(m: nn.Module) -> bool:
    from transformers.pytorch_utils import Conv1D

    return isinstance(m, (nn.Linear, Conv1D))  # bnb Linear4bit / Linear8bitLt subclass nn.Linear


def _dims(m: nn.Module) -> tuple[int, int, bool]:
    """(d_out, d_in without bias, has_bias) of an nn.Linear (incl. 4-bit) or a GPT-2 Conv1D."""
    if hasattr(m, "in_features"):
        d_out, d_in = m.out_features, m.in_features
    else:  # Conv1D: weight (nx, nf)
        d_out, d_in = m.nf, m.nx
    return d_out, d_in, getattr(m, "bias", None) is not None


def _blocks(model: nn.Module) -> list[str]:
    """Names of the transformer blocks: the children of the longest nn.ModuleList."""
    best: tuple[int, str] = (0, "")
    for name, m in model.named_modules():
        if isinstance(m, nn.ModuleList) and len(m) > best[0] and "lora" not in name:
            best = (len(m), name)
    return [f"{best[1]}.{i}" for i in range(best[0])]


def select_layers(model: nn.Module, patterns: Sequence[str] = (), last_blocks: int = 1
                  ) -> list[TrackedLayer]:
    """The linear layers whose weight gradients represent an example.

    - `patterns` given: every linear layer whose name matches one of the regexes (re.search).
    - else, a peft model: its LoRA B matrices (a freshly initialised adapter has B = 0, so the
      LoRA A gradients Bᵀ g aᵀ are exactly zero; B's gradient g (A a)ᵀ is the base layer's
      gradient seen through the random projection A — informative). LoRA A is tracked too once B
      is non-zero.
    - else: every linear layer inside the last `last_blocks` transformer blocks.
    """
    from dareu.models import is_peft

    named = [(n, m) for n, m in model.named_modules() if _is_linear(m)]
    if patterns:
        rx = [re.compile(p) for p in patterns]
        chosen = [(n, m) for n, m in named if any(r.search(n) for r in rx)]
        what = f"patterns {list(patterns)}"
    elif is_peft(model):
        b_zero = all(float(m.weight.detach().abs().max()) == 0.0
                     for n, m in named if ".lora_B." in n)
        keep = (".lora_B.",) if b_zero else (".lora_A.", ".lora_B.")
        chosen = [(n, m) for n, m in named if any(k in n for k in keep)]
        what = "LoRA adapter layers"
    else:
        blocks = _blocks(model)[-last_blocks:] if last_blocks > 0 else []
        chosen = [(n, m) for n, m in named if any(n.startswith(b + ".") for b in blocks)]
        what = f"linear layers of the last {last_blocks} blocks"
    if not chosen:
        from attributors.base import AttributorError

        sample = ", ".join(n for n, _ in named[:6])
        raise AttributorError(f"no linear layer to track ({what}); linear layers look like: "
                              f"{sample}")
    return [TrackedLayer(n, d_out, d_in + int(b), b)
            for n, m in chosen for d_out, d_in, b in [_dims(m)]]


class Layout:
    """Flatten per-layer (n, d_out, d_in') gradients into (n, P) vectors and back."""

    def __init__(self, layers: Sequence[TrackedLayer]) -> None:
        self.layers = list(layers)
        self.offsets = [0]
        for layer in self.layers:
            self.offsets.append(self.offsets[-1] + layer.size)

    @property
    def size(self) -> int:
        return self.offsets[-1]

    def join(self, grads: dict[str, Tensor]) -> Tensor:
        """{name: (n, d_out, d_in')} -> (n, P)."""
        return torch.cat([grads[l.name].flatten(1) for l in self.layers], dim=1)

    def split(self, flat: Tensor) -> dict[str, Tensor]:
        """(n, P) -> {name: (n, d_out, d_in')} (views)."""
        return {l.name: flat[:, s:e].view(-1, l.d_out, l.d_in)
                for l, s, e in zip(self.layers, self.offsets, self.offsets[1:])}

    def describe(self) -> Tensor:
        """(n_layers, 3) int tensor of (d_out, d_in', has_bias): saved to check a reload matches."""
        return torch.tensor([[l.d_out, l.d_in, int(l.has_bias)] for l in self.layers])


# ---------------------------------------------------------------------------------------------
# Examples -> batches


def encode_examples(tokenizer, template: str, prompts: Sequence[str], responses: Sequence[str],
                    max_length: int, chat_template: bool = False) -> list[dict[str, list[int]]]:
    """Prompt/response pairs as the finetune saw them: labels = IGNORE on the prompt."""
    return [encode_pair(tokenizer, format_prompt(p, tokenizer, template, chat_template), r,
                        max_length) for p, r in zip(prompts, responses)]


def batches(rows: Sequence[dict], batch_size: int, pad_id: int, device) -> list[dict[str, Tensor]]:
    out = []
    for i in range(0, len(rows), batch_size):
        b = pad_batch(rows[i:i + batch_size], pad_id)
        out.append({k: v.to(device) for k, v in b.items()})
    return out


def example_losses(logits: Tensor, labels: Tensor, reduction: str = "mean") -> Tensor:
    """(B,) NLL of each example's response tokens: mean (default) or sum over its tokens."""
    logits, targets = shift_for_causal_lm(logits, labels)  # (B, T-1, V), (B, T-1)
    mask = targets != IGNORE
    nll = -token_logprobs(logits, targets.clamp(min=0))  # (B, T-1)
    return masked_mean(nll, mask, dim=1) if reduction == "mean" else masked_sum(nll, mask, dim=1)


# ---------------------------------------------------------------------------------------------
# Hooks


@dataclass
class BatchGradients:
    """What one backward gives: per-example gradients and the raw factors behind them."""

    grads: dict[str, Tensor]  # name -> (B, d_out, d_in')
    inputs: dict[str, Tensor]  # name -> (B, T, d_in')  layer inputs a_t (bias-augmented)
    outgrads: dict[str, Tensor]  # name -> (B, T, d_out)  dL/dy_t (zero on padding)
    tokens: dict[str, int]  # name -> real (non-pad) token positions seen by the layer
    losses: Tensor  # (B,)


class GradientTracker:
    """Hooks on the tracked layers of a frozen model; `batch_gradients(batch)` runs one backward."""

    def __init__(self, model: nn.Module, layers: Sequence[TrackedLayer], reduction: str = "mean"
                 ) -> None:
        self.model, self.layers, self.reduction = model, list(layers), reduction
        modules = dict(model.named_modules())
        self._inputs: dict[str, list[Tensor]] = {}
        self._outputs: dict[str, list[Tensor]] = {}
        self._handles = [modules[l.name].register_forward_hook(self._hook(l.name))
                         for l in self.layers]
        emb = model.get_input_embeddings()
        # activations must carry grad even though no weight does (frozen / 4-bit model)
        self._handles.append(emb.register_forward_hook(lambda m, i, o: o.requires_grad_(True)))

    def _hook(self, name: str):
        def fn(module, args, output):
            if torch.is_grad_enabled():
                self._inputs.setdefault(name, []).append(args[0].detach())
                self._outputs.setdefault(name, []).append(output)
        return fn

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def batch_gradients(self, batch: dict[str, Tensor]) -> BatchGradients:
        """Every example's loss gradient for the tracked layers (examples are independent: the sum
        of their losses has example i's gradient in example i's activations)."""
        self._inputs.clear()
        self._outputs.clear()
        with torch.enable_grad():
            logits = self.model(input_ids=batch["input_ids"],
                                attention_mask=batch["attention_mask"]).logits  # (B, T, V)
            losses = example_losses(logits, batch["labels"], self.reduction)  # (B,)
            outs = [o for l in self.layers for o in self._outputs.get(l.name, [])]
            gs = torch.autograd.grad(losses.sum(), outs, allow_unused=True)
        mask = batch["attention_mask"].bool()  # (B, T)
        grads, inputs, outgrads, tokens = {}, {}, {}, {}
        k = 0
        for l in self.layers:
            acts = self._inputs.get(l.name)
            if not acts:
                from attributors.base import AttributorError

                raise AttributorError(f"tracked layer {l.name} never ran in the forward pass; "
                                      "track layers the model uses (attributor.options.modules).")
            n_calls = len(acts)  # a layer called twice per forward: its tokens are concatenated
            a = torch.cat(acts, dim=1).float()  # (B, T', d_in)
            g = torch.cat([gi if gi is not None else torch.zeros_like(o)
                           for gi, o in zip(gs[k:k + n_calls], self._outputs[l.name])], 1).float()
            k += n_calls
            m = mask.repeat(1, n_calls).unsqueeze(-1)  # (B, T', 1)
            a, g = a * m, g * m  # pad tokens carry no gradient and no K-FAC statistics
            if l.has_bias:
                a = torch.cat([a, m.to(a.dtype)], dim=-1)  # (B, T', d_in + 1)
            grads[l.name] = torch.einsum("bto,bti->boi", g, a)  # (B, d_out, d_in')
            inputs[l.name], outgrads[l.name] = a, g
            tokens[l.name] = int(mask.sum()) * n_calls
        self._inputs.clear()
        self._outputs.clear()
        return BatchGradients(grads, inputs, outgrads, tokens, losses.detach())
