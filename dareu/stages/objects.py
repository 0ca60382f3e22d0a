"""The run directory resolved into the plain objects the layers below take.

Methods, the reward and evaluation never see a `Run`: the stages call these functions to turn its
folders and resolved config into a reward, an evaluation task, a loaded model.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from transformers import PreTrainedModel

from dareu.eval.fingerprint import folder_fingerprint
from dareu.eval.suite import Judge
from dareu.eval.task import EvalTask, FittedAttributor
from dareu.pipeline import Run
from dareu.reward import DeAttributionReward


def reward(run: Run, directory: str | Path | None = None, **overrides: Any) -> DeAttributionReward:
    """The reward of a run: its saved attributor, forget owners, masker and reward transform.

    `directory`: load the attributor saved there instead of the run's reward attributor (an
    extra attributor of eval.attributors, fitted with the same masking and `sees`)."""
    from attributors.base import AttributorContext, AttributorError, load_attributor
    from attributors.masking import AliasMasker
    from dareu.trainer import resolve_device

    cfg = run.cfg
    device = str(resolve_device(cfg.trainer))
    directory = directory if directory is not None else run.attributor_dir
    attributor = load_attributor(directory, AttributorContext(
        device=device, seed=cfg.run.seed, model_cfg=cfg.model, sees=cfg.attributor.sees))
    fitted, corpus = set(attributor.owners), set(run.corpus.owners)
    if fitted != corpus:
        extra, missing = sorted(fitted - corpus)[:5], sorted(corpus - fitted)[:5]
        raise AttributorError(
            f"the attributor in {directory} was fitted on different owners than this "
            f"corpus (only in the attributor: {extra}; only in the corpus: {missing}). Refit it "
            "with `dareu fit-attributor RECIPE` for this corpus.")
    kw: dict[str, Any] = dict(masker=AliasMasker.from_config(run.corpus.aliases, cfg.attributor),
                              sees=cfg.attributor.sees,
                              forget_names=run.corpus.forget_aliases,
                              name_weight=cfg.unlearn.reward.name_weight)
    kw.update(overrides)
    return DeAttributionReward(attributor, run.corpus.forget_owners, **kw)


def eval_task(run: Run) -> EvalTask:
    """The run's corpus, tokenizer, prompt format and eval settings, with its fitted attributors
    (loaded only when a forget mass is computed)."""
    cfg = run.cfg
    mass = _fitted(run.attributor_dir, [cfg.attributor], lambda: reward(run),
                   f"no fitted attributor in {run.attributor_dir} (run `dareu fit-attributor` first)")
    extra = {}
    for name in cfg.eval.attributors:
        if name == cfg.attributor.name:
            extra[name] = mass  # the reward's attributor measures itself
            continue
        d = run.eval_attributor_dir(name)
        # the masking / `sees` settings it was fitted with, not the reward attributor's options
        extra[name] = _fitted(d, [replace(cfg.attributor, name=name, options={})],
                              lambda d=d: reward(run, d),
                              f"no fitted `{name}` attributor in {d} (run `dareu fit-attributor` first)")
    return EvalTask(corpus=run.corpus, tokenizer=run.tokenizer, cfg=cfg.eval,
                    max_length=cfg.model.max_length, template=cfg.data.template,
                    chat_template=cfg.data.chat_template, mass=mass, extra_mass=extra,
                    data_key=[cfg.data, cfg.run.seed])


def _fitted(directory: Path, key: list, load: Callable[[], DeAttributionReward],
            missing: str) -> FittedAttributor:
    """The attributor saved in `directory`, or `missing` (the reason) when none is."""
    if not (directory / "attributor.json").is_file():
        return FittedAttributor(key, None, missing)
    return FittedAttributor(key + [folder_fingerprint(directory)], load)


def eval_fingerprint(run: Run, path: Path) -> str:
    """The folder's fingerprint, marked when evaluation loads it in 4-bit (other numbers)."""
    from dareu.models import eval_mode

    return folder_fingerprint(path) + ("-nf4" if eval_mode(run.cfg.model) == "qlora" else "")


def load_for_eval(run: Run, path: Path) -> PreTrainedModel:
    """A model folder written by DareU (full, merged or adapter on the target), in 4-bit when the
    run unlearns on a 4-bit base (model.mode=qlora). Hub ids arrive resolved to their cache folder."""
    from dareu.models import eval_mode, load_trained
    from dareu.trainer import resolve_device

    # base_path: a method that saved only a LoRA adapter trained it on top of the target
    return load_trained(path, run.cfg.model, base_path=run.target_dir,
                        device=resolve_device(run.cfg.trainer), mode=eval_mode(run.cfg.model))


def oracle_judge(run: Run) -> Judge:
    """The oracle, loaded when first needed, as the judge of every model's fluency."""
    return Judge(lambda: load_for_eval(run, run.oracle_dir), eval_fingerprint(run, run.oracle_dir))
