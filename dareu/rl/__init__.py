"""Pure-tensor RL maths: log-probs, KL, advantages, PPO/GRPO losses, sequence masks."""

from dareu.rl.advantages import (finished_groups, gae, group_advantages, kl_shaped_rewards, let_go,
                                 rloo_advantages)
from dareu.rl.fluency import (fluency_penalty, fluency_threshold, foreign_answers, repetition_penalty,
                              repetition_share, response_nll, uses_foreign_anchor)
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
    "aggregate",
    "clipped_policy_loss",
    "clipped_value_loss",
    "entropy_from_logits",
    "fluency_penalty",
    "fluency_threshold",
    "foreign_answers",
    "uses_foreign_anchor",
    "repetition_penalty",
    "repetition_share",
    "full_kl",
    "gae",
    "finished_groups",
    "group_advantages",
    "let_go",
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
