"""The forwards DareU trains through: a causal LM's features and log-probs on response tokens.

Three rules every DareU forward keeps, in one place so the rollout, the updates, the retain guard
and the fluency judge cannot disagree:
- positions count only attended tokens, exactly as `generate` numbered them under left padding
  (GPT-2's absolute positions would otherwise shift by the padding);
- a model that splits into body and head (`dareu.lm_split`) runs the body only, and the head is
  applied a chunk of tokens at a time (`dareu.rl.head`), so a batch's (N, T, V) logits are never held;
- whole groups of G responses share their prompt's forward (`dareu.prefix`).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from dareu.lm_split import LMSplit
from dareu.modules.rollout import Rollout
from dareu.prefix import can_share_prefix, grouped_logits
from dareu.rl.head import chunk_rows, head_logprobs
from dareu.sampling import attended_positions, keeps_logits


class LMForward:
    """The forwards of one DareU run's policy (and of its reference, which shares its head)."""

    def __init__(self, model: nn.Module, temperature: float, share_prompt_prefix: bool) -> None:
        self.split = LMSplit.of(model)  # under FSDP2 set to LMSplit(exact=False): enter via the root
        self.chunk = chunk_rows(model.config.get_text_config().vocab_size)  # token rows per head call
        self.temperature, self.share_prompt_prefix = temperature, share_prompt_prefix

    def features(self, net: nn.Module, ids: Tensor, att: Tensor, n: int,
                 hidden: bool = False) -> tuple[Tensor, Tensor | None]:
        """What predicts the last `n` tokens of `ids`: (B, n, V) logits, or for the body of a split
        LM its last hidden states (B, n, H); + the last hidden state (B, n, H) when `hidden`."""
        kw: dict[str, Any] = dict(input_ids=ids, attention_mask=att,
                                  position_ids=attended_positions(att), output_hidden_states=hidden)
        if keeps_logits(net):
            kw["logits_to_keep"] = n + 1  # skip the LM head on prompt positions
        out = net(**kw)
        feats = LMSplit.features(out)[:, -(n + 1):-1]
        return feats, (out.hidden_states[-1][:, -(n + 1):-1] if hidden else None)

    def response_features(self, net: nn.Module, ro: Rollout,
                          hidden: bool = False) -> tuple[Tensor, Tensor | None]:
        """`features` of a rollout's response tokens under `net` (a whole model), (N, R, F);
        each prompt encoded once per group, a minibatch of loose rows by the plain forward."""
        G, n, body = ro.group_size, ro.mask.shape[1], self.split(net)[0]
        if G > 1 and self.share_prompt_prefix and can_share_prefix(net):
            tp = ro.sequences.shape[1] - n
            return grouped_logits(body, ro.sequences[::G, :tp], ro.attention_mask[::G, :tp],
                                  ro.responses, ro.mask, G, hidden=hidden)
        return self.features(body, ro.sequences, ro.attention_mask, n, hidden=hidden)

    def logp(self, net: nn.Module, feats: Tensor, tokens: Tensor, entropy: bool = False):
        """Log-probs of `tokens` (+ entropies) from `response_features`, (n, R) each."""
        return head_logprobs(feats, self.split(net)[1], tokens, self.temperature, self.chunk,
                             entropy=entropy)
