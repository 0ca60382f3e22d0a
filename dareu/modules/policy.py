"""The policy: a HF causal LM in full / LoRA / QLoRA mode, with its frozen reference.

With adapters the reference is the same network with the adapters disabled (no second copy in
memory); in full finetuning it is a frozen copy of the starting weights.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from dareu.config import ModelConfig
from dareu.models import is_peft, load_causal_lm, save_model
from dareu.rl.logprobs import token_logprobs


class Policy(nn.Module):
    """Wraps the trainable LM; `reference()` gives the frozen starting point."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, mode: str,
                 base_path: str | Path | None = None) -> None:
        super().__init__()
        self.model, self.tokenizer, self.mode = model, tokenizer, mode
        self.base_path = str(base_path) if base_path is not None else None
        self.frozen_reference: PreTrainedModel | None = None
        if not is_peft(model):
            self.frozen_reference = copy.deepcopy(model).eval().requires_grad_(False)

    @classmethod
    def from_pretrained(cls, path: str | Path, tokenizer: PreTrainedTokenizerBase, cfg: ModelConfig,
                        mode: str, device: str | torch.device | None = None) -> "Policy":
        model = load_causal_lm(path, cfg, mode=mode, device=device, trainable=True)
        return cls(model, tokenizer, mode, base_path=path)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    @contextmanager
    def reference(self) -> Iterator[nn.Module]:
        """`with policy.reference() as ref:` — the starting model, in eval mode, no grad."""
        with torch.no_grad():
            if self.frozen_reference is not None:
                yield self.frozen_reference
                return
            # same network, adapters off; eval mode so dropout does not make the reference noisy
            was_training = self.model.training
            self.model.eval()
            try:
                with self.model.disable_adapter():
                    yield self.model
            finally:
                self.model.train(was_training)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits  # (B, T, V)

    def token_logprobs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       temperature: float = 1.0, reference: bool = False,
                       return_hidden: bool = False):
        """Log-probs of tokens 1..T-1 given their prefix: (B, T-1) (+ last hidden states)."""
        ctx = self.reference() if reference else nullcontext(self.model)
        with ctx as net:
            out = net(input_ids=input_ids, attention_mask=attention_mask,
                      output_hidden_states=return_hidden)
            logps = token_logprobs(out.logits[:, :-1], input_ids[:, 1:], temperature)
        if return_hidden:
            return logps, out.hidden_states[-1][:, :-1]
        return logps

    def save(self, out_dir: str | Path, cfg: ModelConfig, merge: bool = False,
             state_dict: dict | None = None) -> None:
        save_model(self.model, self.tokenizer, out_dir, merge=merge, cfg=cfg, base_path=self.base_path,
                   state_dict=state_dict)
