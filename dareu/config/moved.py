"""Keys of the `unlearn` section that moved into its sub-sections or were removed: a recipe that
still uses one gets an error that names the key to use instead."""

from __future__ import annotations

MOVED = {
    "prompts_per_step": "sampling.prompts_per_step", "group_size": "sampling.group_size",
    "temperature": "sampling.temperature", "max_new_tokens": "sampling.max_new_tokens",
    "decode": "sampling.decode", "algorithm": "objective.algorithm", "beta": "objective.beta",
    "ppo_epochs": "objective.epochs", "vf_coef": "objective.ppo.vf_coef",
    "name_weight": "reward.name_weight", "fluency_weight": "reward.fluency.weight",
    "fluency_margin": "reward.fluency.margin", "fluency_judge": "reward.fluency.judge",
    "retain_weight": "retain.weight", "retain_batch_size": "retain.batch_size",
}
"""Old `unlearn.<key>` -> its place under `unlearn.`."""

_FLOOR = "replaced by `unlearn.floor` (auto: DareU stops pushing a prompt at the measured floor)"
REMOVED = {
    "advantage_scale": _FLOOR, "advantage_eps": _FLOOR, "absolute_advantage": _FLOOR,
    "let_go": _FLOOR, "let_go_start_mass": _FLOOR,
    "fluency_repetition": "removed (the fluency guard's per-token NLL is the degenerate-text test)",
    "fluency_anchor": "removed (the guard's threshold is always measured on retain answers after "
                      "the forget prompts)",
    "fluency_width": "removed (the penalty rises over 2 nats per token)",
    "min_response_tokens": "removed (an empty answer gets the full penalty)",
    "top_p": "removed (DareU samples the full distribution at unlearn.sampling.temperature)",
    "kl_estimator": "removed (the KL is the k3 estimator)",
    "clip_eps": "removed (the ratio is clipped at 0.2)",
    "value_clip": "removed (the value loss is clipped at 0.2)",
    "value_lr": "removed (the value head learns at unlearn.lr)",
    "gamma": "removed (ppo: γ = 1)", "gae_lambda": "removed (ppo: GAE λ = 0.95)",
    "minibatches": "removed (each update takes the whole rollout; see unlearn.objective.epochs)",
    "loss_aggregation": "removed (the loss is the token mean over the rollout)",
    "share_prompt_prefix": "removed (always on)",
    "reward_transform": "removed (the reward is minus the forget mass)",
    "retain_on_generations": "removed (the retain term distils on retain records)",
    "max_grad_norm": "removed (the gradient norm is clipped at 1)",
    "weight_decay": "removed (DareU uses none; the baselines have unlearn.baselines.weight_decay)",
    "keep_checkpoints": "removed (checkpoints are deleted once the model is saved)",
}
"""Old `unlearn.<key>` -> what happened to it."""


def explain_old_key(key: str) -> str | None:
    """The message for a key this version no longer has, or None for any other key."""
    section, _, leaf = key.rpartition(".")
    if section != "unlearn":
        return None
    if leaf in MOVED:
        return f"`{key}` is now `unlearn.{MOVED[leaf]}`."
    if leaf in REMOVED:
        return f"`{key}` was {REMOVED[leaf]}."
    return None
