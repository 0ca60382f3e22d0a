"""Pure-tensor RL maths: log-probs, KL, advantages, PPO/GRPO losses, sequence masks."""

from dareu.rl.advantages import gae, group_advantages, kl_shaped_rewards, rloo_advantages
from dareu.rl.floor import at_floor, floor_advantages, invention_floor, pass_at_floor
from dareu.rl.fluency import (fluency_penalty, fluency_threshold, foreign_answers, response_nll,
                              uses_foreign_anchor)
from dareu.rl.kl import full_kl, kl_estimate, token_full_kl
from dareu.rl.logprobs import (
    entropy_from_logits,
    masked_mean,
    masked_sum,
    masked_var,
    masked_whiten,
    shift_for_causal_lm,
    token_logprobs,
)
from dareu.rl.losses import aggregate, clipped_policy_loss, clipped_value_loss
from dareu.rl.sequence import last_valid_index, response_mask, sequence_logprob

__all__ = [
    "at_floor",
    "floor_advantages",
    "invention_floor",
    "pass_at_floor",
    "aggregate",
    "clipped_policy_loss",
    "clipped_value_loss",
    "entropy_from_logits",
    "fluency_penalty",
    "fluency_threshold",
    "foreign_answers",
    "uses_foreign_anchor",
    "full_kl",
    "gae",
    "group_advantages",
    "kl_estimate",
    "kl_shaped_rewards",
    "last_valid_index",
    "masked_mean",
    "masked_sum",
    "masked_var",
    "masked_whiten",
    "response_mask",
    "response_nll",
    "rloo_advantages",
    "sequence_logprob",
    "shift_for_causal_lm",
    "token_full_kl",
    "token_logprobs",
]
