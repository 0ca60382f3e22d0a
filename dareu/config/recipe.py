"""`Config`: the whole recipe, one field per section."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dareu.config.attributor import AttributorConfig
from dareu.config.checks import _check
from dareu.config.data import DataConfig
from dareu.config.evaluation import EvalConfig
from dareu.config.model import FinetuneConfig, ModelConfig
from dareu.config.run import RunConfig, TrainerConfig
from dareu.config.unlearn import UnlearnConfig


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    attributor: AttributorConfig = field(default_factory=AttributorConfig)
    unlearn: UnlearnConfig = field(default_factory=UnlearnConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    run: RunConfig = field(default_factory=RunConfig)
    imports: list[str] = field(default_factory=list)
    """Modules imported before the recipe is checked (so `@register_attributor` / `@register_method`
    names in them are known); the recipe's folder and the working directory are importable."""

    def __post_init__(self) -> None:
        self.finetune.resolve(self.model)  # defaults that depend on the model kind
        self.unlearn.resolve(self.model.mode, self.run.seed)  # lr by full weights / adapters; seed
        _check(self.unlearn.reward.fluency.judge != "base" or self.has_base, "unlearn.reward.fluency.judge",
               self.unlearn.reward.fluency.judge, "reference when the run has no pretrained base (set "
               "model.base_path or finetune.pretrain_owners to judge under the base)")

    @property
    def has_base(self) -> bool:
        """Whether target and oracle are finetuned from a pretrained base: the user's model.base_path
        or the run's own pretraining (finetune.pretrain_owners); else they train from scratch."""
        return bool(self.finetune.pretrain_owners or self.model.base_path)

    @property
    def output_dir(self) -> Path:
        return Path(self.run.output_dir)
