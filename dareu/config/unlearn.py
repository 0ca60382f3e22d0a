"""The `unlearn` section: the DareU RL loop, and the loss-based baselines (`unlearn.baselines`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from dareu.config.checks import _check, _positive


FULL_LR = 1e-4
ADAPTER_LR = 1e-3


@dataclass
class BaselineConfig:
    """Hyper-parameters of the loss-based baselines (REFERENCE.md §5; open-unlearning defaults)."""

    npo_beta: float = 0.1
    """NPO inverse temperature β."""
    simnpo_beta: float = 4.5
    """SimNPO inverse temperature β."""
    simnpo_delta: float = 0.0
    """SimNPO margin δ on the length-normalised forget NLL."""
    idk_beta: float = 0.1
    """IdkPO (DPO) inverse temperature β."""
    retain_weight: float = 1.0
    """Weight (α / γ in the papers) of the retain term: NLL, or KL(reference ‖ policy) for `kl`."""
    forget_batch_size: int = 8
    retain_batch_size: int = 8
    lr: Optional[float] = None
    """Learning rate of the baselines; None uses unlearn.lr (same budget as DareU)."""
    steps: Optional[int] = None
    """Optimiser steps of the baselines (each one forget + retain batch); None uses unlearn.steps.
    DareU's steps are rollouts (several updates each), a baseline's are single batches: tune each."""
    weight_decay: Optional[float] = None
    """AdamW weight decay of the baselines; None uses unlearn.weight_decay."""
    idk_answers: Optional[str] = None
    """IdkPO: text file of "I don't know" answers, one a line; None uses the shipped list."""

    def __post_init__(self) -> None:
        _positive("unlearn.baselines", self, "npo_beta", "simnpo_beta", "idk_beta",
                  "forget_batch_size", "retain_batch_size")
        _check(self.retain_weight >= 0, "unlearn.baselines.retain_weight", self.retain_weight, ">= 0")
        _check(self.lr is None or self.lr > 0, "unlearn.baselines.lr", self.lr, "null or a number > 0")
        _check(self.steps is None or self.steps > 0, "unlearn.baselines.steps", self.steps,
               "null or an integer > 0")
        _check(self.weight_decay is None or self.weight_decay >= 0, "unlearn.baselines.weight_decay",
               self.weight_decay, "null or >= 0")


@dataclass
class UnlearnConfig:
    """The unlearning methods and the DareU RL loop."""

    methods: list[str] = field(default_factory=lambda: ["dareu"])
    """Methods to run on one corpus / target / oracle (dareu and the baselines)."""
    algorithm: str = "grpo"
    """DareU's RL algorithm: `grpo` (group advantages), `rloo` (leave-one-out) or `ppo` (value head + GAE)."""
    steps: int = 120
    """RL steps: one rollout (prompts_per_step × group_size responses) each; every step makes
    ppo_epochs × minibatches optimiser updates. Defaults measured in docs/dareu_defaults.md."""
    lr: Optional[float] = None
    """AdamW learning rate of the policy; null = by model.mode: 1e-4 for full weights, 1e-3 for
    LoRA / QLoRA adapters (measured in docs/dareu_defaults.md)."""
    prompts_per_step: int = 8
    """Forget-owner prompts per rollout (per rank)."""
    group_size: int = 8
    """Responses sampled per prompt (G). 8 (was 4; 2026-12-06, docs/dareu_defaults.md): ToW over
    3–5 seeds, 8 vs 4: TOFU forget01 0.947 (8 seeds) vs 0.917 (5), notes 0.862 vs 0.852, quickstart within the spread
    (0.953 vs 0.965); a rollout costs ~1.5× the time on CPU."""
    temperature: float = 1.0
    """Sampling temperature; log-probs are taken from logits / temperature, as sampled."""
    top_p: float = 1.0
    """Nucleus sampling threshold (1 = the full distribution)."""
    max_new_tokens: int = 48
    """Longest sampled response, in tokens."""
    decode: str = "eager"
    """How rollouts decode: `eager` (dynamic KV cache), `static` (static KV cache; the decode step
    compiled on CUDA) or `auto` (static on CUDA, eager elsewhere). See dareu.decoding. Eager by
    default until the compiled CUDA path has been measured on a GPU (bench/gpu_check.sh)."""
    beta: float = 0.05
    """KL-to-reference coefficient (in the loss for grpo / rloo, in the per-token rewards for ppo)."""
    kl_estimator: str = "k3"
    """Per-token KL estimator to the reference: k1, k2 or k3 (REFERENCE.md §6)."""
    retain_weight: float = 1.0
    """Weight λ of the retain-set distillation KL(reference ‖ policy)."""
    retain_batch_size: int = 8
    """Teacher-forced retain-owner records per step for the distillation term (cycled, seeded)."""
    retain_on_generations: bool = False
    """Also distil on the policy's own sampled answers to retain-owner prompts (one extra generation per step)."""
    clip_eps: float = 0.2
    """PPO ratio clipping ε."""
    ppo_epochs: int = 2
    """Passes over each rollout (all algorithms: TRL's num_iterations μ for grpo / rloo)."""
    minibatches: int = 1
    """Optimiser updates per pass over a rollout (the rollout is split into this many minibatches)."""
    share_prompt_prefix: bool = True
    """Log-prob forwards encode each prompt once per group of G responses (KV cache repeated G
    times) instead of G times; same logits and gradients. Applies to whole rollouts (minibatches=1)."""
    vf_coef: float = 0.5
    """ppo: weight of the value loss."""
    value_lr: Optional[float] = None
    """ppo: learning rate of the value head (its own parameter group); None uses `lr`."""
    value_clip: float = 0.2
    """ppo: clipping range of the value loss around the rollout's values."""
    gae_lambda: float = 0.95
    """ppo: GAE λ."""
    gamma: float = 1.0
    """ppo: discount γ over response tokens."""
    loss_aggregation: str = "dapo"
    """Token reduction of the policy loss: dapo, token_mean or seq_mean (dareu.rl.aggregate)."""
    reward_transform: str = "mass"
    """How attribution becomes reward: `mass` (−mass) or `log_mass` (−log(mass + eps))."""
    floor: Union[float, int, str] = "auto"
    """The forget mass at which a prompt counts as no longer attributable. `auto`: measured before
    the first step, as the attributor's share on the forget owners of what the target invents
    about people it does not know (`dareu.modules.floor`). DareU pushes a prompt's answers only
    while their mean is above the floor, and stops once a whole pass over the forget prompts is
    at it (`steps` is then a ceiling). A number sets the floor; 0 pushes every prompt until its
    answers have no mass left. Logged as `floor` in the step metrics and shown in the report."""
    name_weight: float = 0.0
    """Reward charge for writing a forget owner's name (an alias `dareu.data.aliases` inferred):
    r −= name_weight when the response contains one. The attributor sees names masked (a model
    retrained without the owner still copies the name from the question), so without this term
    the reward is blind to the name, and the policy keeps or drops it by chance. 0 (default): a
    retrained LLM copies names, so naming is not attribution; set it where the user's request is
    that the model stop writing the owner's name. On TOFU tiny, whose oracle never writes it,
    0.5 lifted forget01 on all three prepares measured (0.949 → 0.978, 0.931 → 0.948, 0.869 →
    0.955 on seed 0) but cost forget05 0.08–0.14 through the test set, so
    recipes/tofu_forget01_tiny.yaml sets it and tofu_forget05_tiny does not (docs/results.md,
    sessions 12–13)."""
    fluency_weight: float = 1.0
    """Weight of the degenerate-text penalty in the reward: r = −mass − weight · penalty, where
    penalty ∈ [0, 1] rises with the response's per-token NLL under the reference (dareu.rl.fluency).
    0 turns the guard off (the attributor alone: empty or gibberish answers then earn as much as
    good ones)."""
    fluency_margin: float = 2.0
    """Nats per token above the anchor's fluency (`fluency_anchor`: by default the median per-token
    NLL of retain answers put after the forget prompts) at which the penalty starts."""
    fluency_anchor: str = "foreign"
    """What the guard's threshold is measured on (τ = median per-token NLL under the judge +
    fluency_margin): `foreign` (default), retain owners' answers put after the forget prompts
    (fluent text the model knows, answering another question: what a model that never saw the
    forget owners says); `own`, the reference's own sampled answers on the first rollout. A target
    that memorised its forget answers finds its own ~0 nats per token, and `own` then charges any
    other fluent answer as degenerate (reward audit on TOFU forget01: own 0.023, foreign 0.568; the
    goal is ≥ 0.3). A corpus without retain records makes `foreign` fall back to `own`."""
    fluency_judge: str = "reference"
    """The model whose per-token NLL judges fluency: `reference` (the target before unlearning)
    or `base` (the pretrained model target and oracle were finetuned from: model.base_path, or the
    run's own finetune.pretrain_owners base). A target that memorised its forget answers finds
    every other fluent answer unlikely (the oracle's own, at several nats per token) and charges it
    as degenerate; the base never saw the forget owners, so a fluent answer with other facts costs
    it no more than the true one, while gibberish still does."""
    fluency_width: float = 2.0
    """NLL span (nats) over which the penalty rises from 0 to 1."""
    min_response_tokens: int = 2
    """Responses shorter than this (tokens, EOS included: 2 = one real token) get the full penalty."""
    on_collapse: str = "stop"
    """What a collapsed policy (empty, near-deterministic or degenerate answers for several steps
    in a row) does: `stop` the run with a PolicyCollapsed error (exit code 5), or `warn` and go on."""
    max_grad_norm: float = 1.0
    """Gradient-norm clipping of every update (0 disables it)."""
    checkpoint_every: int = 25
    """Steps between Lightning checkpoints (resume after a kill)."""
    keep_checkpoints: bool = False
    """Keep `checkpoints/last.ckpt` in the method folder after a successful save (deleted by default)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    seed: Optional[int] = None
    """Seed of unlearning alone (sampling, prompt and retain order, IdkPO answers); null uses
    run.seed. Changing it keeps the tokenizer, target, oracle and attributor (they follow run.seed),
    so one prepared run can be unlearned under several seeds."""
    baselines: BaselineConfig = field(default_factory=BaselineConfig)
    """Hyper-parameters of the loss-based baselines (grad_ascent, npo, simnpo, ...)."""

    def resolve(self, mode: str, run_seed: int) -> None:
        """Fill the null learning rate with the default of the training mode (model.mode), and the
        null seed with run.seed."""
        if self.lr is None:
            self.lr = FULL_LR if mode == "full" else ADAPTER_LR
        if self.seed is None:
            self.seed = run_seed

    def steps_of(self, method_cls: type) -> int:
        """Training steps of a method: `baselines.steps` (null: `steps`) for the loss baselines,
        `steps` otherwise."""
        from dareu.modules.baselines.base import LossUnlearnMethod

        if issubclass(method_cls, LossUnlearnMethod) and self.baselines.steps is not None:
            return self.baselines.steps
        return self.steps

    def __post_init__(self) -> None:
        _check(self.algorithm in ("grpo", "ppo", "rloo"), "unlearn.algorithm", self.algorithm,
               "grpo, ppo or rloo")
        _check(self.lr is None or self.lr > 0, "unlearn.lr", self.lr, "null or a number > 0")
        _positive("unlearn", self, "steps", "prompts_per_step", "group_size", "temperature",
                  "max_new_tokens", "ppo_epochs", "minibatches", "checkpoint_every",
                  "retain_batch_size", "clip_eps", "value_clip")
        if self.algorithm in ("grpo", "rloo"):
            _check(self.group_size >= 2, "unlearn.group_size", self.group_size,
                   f">= 2 for unlearn.algorithm={self.algorithm} (advantages compare a prompt's responses)")
        rollout = self.prompts_per_step * self.group_size
        _check(self.minibatches <= rollout, "unlearn.minibatches", self.minibatches,
               f"<= prompts_per_step × group_size = {rollout} (each minibatch needs a response)")
        _check(self.value_lr is None or self.value_lr > 0, "unlearn.value_lr", self.value_lr,
               "null or a number > 0")
        _check(self.vf_coef >= 0, "unlearn.vf_coef", self.vf_coef, ">= 0")
        _check(0 <= self.gae_lambda <= 1, "unlearn.gae_lambda", self.gae_lambda, "in [0, 1]")
        _check(0 < self.gamma <= 1, "unlearn.gamma", self.gamma, "in (0, 1]")
        _check(self.max_grad_norm >= 0, "unlearn.max_grad_norm", self.max_grad_norm, ">= 0")
        _check(self.weight_decay >= 0, "unlearn.weight_decay", self.weight_decay, ">= 0")
        _check(0 < self.top_p <= 1, "unlearn.top_p", self.top_p, "in (0, 1]")
        _check(self.beta >= 0, "unlearn.beta", self.beta, ">= 0")
        _check(self.retain_weight >= 0, "unlearn.retain_weight", self.retain_weight, ">= 0")
        _check(self.kl_estimator in ("k1", "k2", "k3"), "unlearn.kl_estimator", self.kl_estimator,
               "k1, k2 or k3")
        _check(self.loss_aggregation in ("dapo", "token_mean", "seq_mean"), "unlearn.loss_aggregation",
               self.loss_aggregation, "dapo, token_mean or seq_mean")
        _check(self.reward_transform in ("mass", "log_mass"), "unlearn.reward_transform",
               self.reward_transform, "mass or log_mass")
        _check(len(self.methods) > 0, "unlearn.methods", self.methods, "at least one method")
        _check(self.floor == "auto" or (isinstance(self.floor, (int, float)) and 0 <= self.floor < 1),
               "unlearn.floor", self.floor, "auto or a number in [0, 1)")
        _check(self.fluency_weight >= 0, "unlearn.fluency_weight", self.fluency_weight, ">= 0")
        _check(self.name_weight >= 0, "unlearn.name_weight", self.name_weight, ">= 0")
        _check(self.fluency_anchor in ("own", "foreign"), "unlearn.fluency_anchor",
               self.fluency_anchor, "own or foreign")
        _check(self.fluency_judge in ("reference", "base"), "unlearn.fluency_judge",
               self.fluency_judge, "reference or base")
        _check(self.fluency_width > 0, "unlearn.fluency_width", self.fluency_width, "> 0")
        _check(self.min_response_tokens >= 1, "unlearn.min_response_tokens",
               self.min_response_tokens, ">= 1")
        _check(self.decode in ("auto", "eager", "static"), "unlearn.decode", self.decode,
               "auto, eager or static")
        _check(self.on_collapse in ("stop", "warn"), "unlearn.on_collapse", self.on_collapse,
               "stop or warn")
