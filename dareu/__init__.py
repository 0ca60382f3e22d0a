"""DareU: LLM unlearning by de-attribution.

The names a user composes, importable from `dareu` directly (each loads its module on first use,
so `import dareu` stays cheap)::

    import lightning as L
    from dareu import Config, DareU, DeAttributionReward, Policy

    trainer = L.Trainer(max_steps=cfg.unlearn.steps * cfg.unlearn.objective.epochs)
    trainer.fit(DareU(policy, reward, forget_prompts, retain_records, cfg))

`examples/` holds complete scripts; attributors live in the sibling package `attributors`.
"""

import importlib as _importlib
import logging as _logging

# bitsandbytes logs at import, on CPUs with avx512_bf16, that its optional `kernels` package for the
# packed 4-bit CPU layout is missing. DareU turns that layout off (dareu.models.keep_4bit_layout),
# so the message is noise for every run: keep it quiet.
_logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(_logging.ERROR)

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    # the recipe
    "Config": "dareu.config", "load_config": "dareu.config",
    # unlearning methods: DareU, the loss baselines, the registry
    "DareU": "dareu.modules.dareu", "DareUModule": "dareu.modules.dareu",
    "UnlearnMethod": "dareu.modules.registry", "register_method": "dareu.modules.registry",
    "get_method": "dareu.modules.registry", "available_methods": "dareu.modules.registry",
    "LossUnlearnMethod": "dareu.modules.baselines", "Scored": "dareu.modules.baselines",
    "GradAscent": "dareu.modules.baselines", "GradDiff": "dareu.modules.baselines",
    "KLMin": "dareu.modules.baselines", "NPO": "dareu.modules.baselines",
    "SimNPO": "dareu.modules.baselines", "IdkPO": "dareu.modules.baselines",
    # the policy, the reward, finetuning
    "Policy": "dareu.modules.policy", "DeAttributionReward": "dareu.reward",
    "FinetuneModule": "dareu.finetune", "QADataModule": "dareu.data.modules",
    # the corpus and its sources
    "OwnerCorpus": "dareu.data.corpus", "Record": "dareu.data.corpus",
    "build_corpus": "dareu.data", "synthetic_corpus": "dareu.data.synthetic",
    "tofu_corpus": "dareu.data.tofu", "files_corpus": "dareu.data.files",
    "format_prompt": "dareu.data.formatting",
    # models
    "load_causal_lm": "dareu.models", "load_trained": "dareu.models",
    "load_tokenizer": "dareu.models", "save_model": "dareu.models",
    "build_tiny_model": "dareu.models", "train_tokenizer": "dareu.models",
    # evaluation
    "evaluate_model": "dareu.eval.suite", "Judge": "dareu.eval.suite",
    "EvalTask": "dareu.eval.task", "FittedAttributor": "dareu.eval.task",
    "headline_metrics": "dareu.eval.headline",
    # errors
    "DareUError": "dareu.errors",
}
_ALIASES = {"DareU": "DareUModule"}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dareu' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_EXPORTS[name]), _ALIASES.get(name, name))
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
