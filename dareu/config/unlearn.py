"""The `unlearn` section: the DareU RL loop, and the loss-based baselines (`unlearn.baselines`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from dareu.config.checks import _check, _positive


FULL_LR = 1e-4
ADAPTER_LR = 1e-3


@dataclass
class BaselineConfig:
    """Hyper-parameters of the loss-based baselines (the defaults of open-unlearning)."""

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
    weight_decay: float = 0.0
    """AdamW weight decay of the baselines."""
    idk_answers: Optional[str] = None
    """IdkPO: text file of "I don't know" answers, one a line; None uses the shipped list."""

    def __post_init__(self) -> None:
        _positive("unlearn.baselines", self, "npo_beta", "simnpo_beta", "idk_beta",
                  "forget_batch_size", "retain_batch_size")
        _check(self.retain_weight >= 0, "unlearn.baselines.retain_weight", self.retain_weight, ">= 0")
        _check(self.lr is None or self.lr > 0, "unlearn.baselines.lr", self.lr, "null or a number > 0")
        _check(self.steps is None or self.steps > 0, "unlearn.baselines.steps", self.steps,
               "null or an integer > 0")
        _check(self.weight_decay >= 0, "unlearn.baselines.weight_decay", self.weight_decay, ">= 0")


@dataclass
class SamplingConfig:
    """How DareU samples its rollouts (`unlearn.sampling`)."""

    prompts_per_step: int = 8
    """Forget-owner prompts per rollout (per rank)."""
    group_size: int = 8
    """Responses sampled per prompt (G); the group-relative advantage compares them. More
    responses give a steadier group mean against the floor at a higher cost per step."""
    temperature: float = 1.0
    """Sampling temperature; log-probs are taken from logits / temperature, as sampled."""
    max_new_tokens: int = 48
    """Longest sampled response, in tokens. Set it near the length of the corpus' answers."""
    decode: str = "eager"
    """How rollouts decode: `eager` (dynamic KV cache), `static` (static KV cache; the decode step
    compiled on CUDA) or `auto` (static on CUDA, eager elsewhere). See dareu.decoding."""

    def __post_init__(self) -> None:
        _positive("unlearn.sampling", self, "prompts_per_step", "group_size", "temperature",
                  "max_new_tokens")
        _check(self.decode in ("auto", "eager", "static"), "unlearn.sampling.decode", self.decode,
               "auto, eager or static")


@dataclass
class PPOConfig:
    """The value head of `unlearn.objective.algorithm=ppo` (`unlearn.objective.ppo`)."""

    vf_coef: float = 0.5
    """Weight of the value loss (GAE with λ 0.95 and γ 1; the value loss is clipped like the ratio)."""

    def __post_init__(self) -> None:
        _check(self.vf_coef >= 0, "unlearn.objective.ppo.vf_coef", self.vf_coef, ">= 0")


@dataclass
class ObjectiveConfig:
    """DareU's RL objective (`unlearn.objective`): a clipped policy-gradient surrogate with the
    KL to the reference, the token mean over the rollout (DAPO) and ε = 0.2."""

    algorithm: str = "grpo"
    """`grpo` (group-relative advantages), `rloo` (leave-one-out) or `ppo` (value head + GAE)."""
    beta: float = 0.05
    """Weight of the KL(policy ‖ reference) (k3 estimator; in the loss for grpo / rloo, in the
    per-token rewards for ppo). Raise it when unlearning hurts the retain or test answers."""
    epochs: int = 2
    """Optimiser updates per rollout (TRL's num_iterations μ)."""
    ppo: PPOConfig = field(default_factory=PPOConfig)

    def __post_init__(self) -> None:
        _check(self.algorithm in ("grpo", "ppo", "rloo"), "unlearn.objective.algorithm",
               self.algorithm, "grpo, ppo or rloo")
        _check(self.beta >= 0, "unlearn.objective.beta", self.beta, ">= 0")
        _positive("unlearn.objective", self, "epochs")


@dataclass
class FluencyConfig:
    """The degenerate-text guard (`unlearn.reward.fluency`): r −= weight · penalty, the penalty
    rising from 0 to 1 over 2 nats per token above a threshold τ. τ is the median per-token NLL,
    under the judge, of retain owners' answers put after the forget prompts (fluent text that
    answers another question: what a model that never saw the forget owners says) plus `margin`.
    Empty answers get the full penalty."""

    weight: float = 1.0
    """Weight of the penalty; 0 turns the guard off (empty or scrambled answers then earn as much
    as good ones)."""
    margin: float = 2.0
    """Nats per token above the retain answers' median at which the penalty starts."""
    judge: str = "reference"
    """Whose per-token NLL judges fluency: `reference` (the target before unlearning) or `base`
    (the pretrained model target and oracle were finetuned from: model.base_path, or the run's
    own finetune.pretrain_owners base). Use `base` when the target memorised its forget answers
    so firmly that it finds every other fluent answer unlikely."""

    def __post_init__(self) -> None:
        _check(self.weight >= 0, "unlearn.reward.fluency.weight", self.weight, ">= 0")
        _check(self.judge in ("reference", "base"), "unlearn.reward.fluency.judge", self.judge,
               "reference or base")


@dataclass
class RewardConfig:
    """DareU's reward (`unlearn.reward`): r = −(attributor's mass on the forget owners), minus the
    fluency guard's penalty, minus the name charge."""

    name_weight: float = 0.0
    """Charge for a response that writes a forget owner's name (names `dareu.data.aliases`
    inferred): r −= name_weight. The attributor sees names masked, so without this term the reward
    is blind to them. 0 (default): a model retrained without the owner still copies the name from
    the question, so naming is not attribution; set it (e.g. 0.5) when the request is that the
    model stop writing the owner's name."""
    fluency: FluencyConfig = field(default_factory=FluencyConfig)

    def __post_init__(self) -> None:
        _check(self.name_weight >= 0, "unlearn.reward.name_weight", self.name_weight, ">= 0")


@dataclass
class RetainConfig:
    """The utility guard (`unlearn.retain`): KL(reference ‖ policy) on teacher-forced retain-owner
    records, each step."""

    weight: float = 1.0
    """Weight λ of the retain KL; raise it when retain answers degrade, 0 turns it off."""
    batch_size: int = 8
    """Retain records per step (cycled, seeded)."""

    def __post_init__(self) -> None:
        _check(self.weight >= 0, "unlearn.retain.weight", self.weight, ">= 0")
        _positive("unlearn.retain", self, "batch_size")


MAX_GRAD_NORM = 1.0
"""Gradient-norm clipping of every unlearning update (DareU and the baselines)."""


@dataclass
class UnlearnConfig:
    """The unlearning methods, and DareU's loop by concern: sampling, objective, reward, retain."""

    methods: list[str] = field(default_factory=lambda: ["dareu"])
    """Methods to run on one corpus / target / oracle (dareu and the baselines)."""
    steps: int = 120
    """Most RL steps (one rollout of prompts_per_step × group_size responses each, then
    objective.epochs updates). DareU stops earlier once its forget prompts are at the floor."""
    floor: Union[float, int, str] = "auto"
    """The forget mass at which a prompt counts as no longer attributable. `auto`: measured before
    the first step, as the attributor's share on the forget owners of what the target invents
    about people it does not know (`dareu.modules.floor`). DareU pushes a prompt's answers only
    while their mean is above the floor, and stops once a whole pass over the forget prompts is
    at it (`steps` is then a ceiling). A number sets the floor; 0 pushes every prompt until its
    answers have no mass left. Logged as `floor` in the step metrics and shown in the report."""
    lr: Optional[float] = None
    """AdamW learning rate of the policy; null = by model.mode: 1e-4 for full weights, 1e-3 for
    LoRA / QLoRA adapters."""
    seed: Optional[int] = None
    """Seed of unlearning alone (sampling, prompt and retain order, IdkPO answers); null uses
    run.seed. Changing it keeps the tokenizer, target, oracle and attributor (they follow run.seed),
    so one prepared run can be unlearned under several seeds."""
    on_collapse: str = "stop"
    """What a collapsed policy (empty, near-deterministic or degenerate answers for several steps
    in a row) does: `stop` the run with a PolicyCollapsed error (exit code 5), or `warn` and go on."""
    checkpoint_every: int = 25
    """Steps between Lightning checkpoints (resume after a kill)."""
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    retain: RetainConfig = field(default_factory=RetainConfig)
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
        `steps` otherwise. The method class decides (`UnlearnMethod.steps_in`): config sits below
        the methods and imports none of them."""
        return method_cls.steps_in(self)

    def __post_init__(self) -> None:
        _check(self.lr is None or self.lr > 0, "unlearn.lr", self.lr, "null or a number > 0")
        _positive("unlearn", self, "steps", "checkpoint_every")
        _check(len(self.methods) > 0, "unlearn.methods", self.methods, "at least one method")
        _check(self.floor == "auto" or (isinstance(self.floor, (int, float)) and 0 <= self.floor < 1),
               "unlearn.floor", self.floor, "auto or a number in [0, 1)")
        _check(self.on_collapse in ("stop", "warn"), "unlearn.on_collapse", self.on_collapse,
               "stop or warn")
        algorithm, group = self.objective.algorithm, self.sampling.group_size
        if algorithm in ("grpo", "rloo"):
            _check(group >= 2, "unlearn.sampling.group_size", group,
                   f">= 2 for unlearn.objective.algorithm={algorithm} (advantages compare a "
                   "prompt's responses)")
