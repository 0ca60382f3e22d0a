"""`dareu attack` (and the stage after evaluate in `dareu run`): the attacks of eval.attacks on
every evaluated model — oracle, target, then each unlearned model — one stage per model and attack.

Each stage writes `eval/<model>/attacks/<attack>.json` (headline figures and per-item results)
and its `attack_<name>_*` figures are merged into summary.json (also when the stage is up to date,
so a lost or replaced summary.json is rebuilt by rerunning). A stage reruns when its model folder,
the attack settings, the data, (relearn) the finetuning settings or (relearn, quantize) the
attributor change.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Callable

import torch
from transformers import PreTrainedModel

from dareu.eval.attacks import ATTACKS, AttackInputs
from dareu.errors import ConfigError
from dareu.eval.fingerprint import folder_fingerprint
from dareu.eval.sets import spread
from dareu.stages.objects import eval_fingerprint, load_for_eval
from dareu.io import atomic_write_json, update_summary
from dareu.pipeline import Run, is_rank_zero
from dareu.stages.evaluate import models_to_evaluate

log = logging.getLogger("dareu")

# the eval.attack settings each attack reads: changing one reruns only the attacks that read it
SETTINGS = {"sampling": ("samples",), "paraphrase": (), "relearn": ("relearn_steps", "relearn_lr"),
            "priming": ("priming_pairs",), "quantize": ()}
MASS = ("relearn", "quantize")
"""The attacks that report the forget mass of their answers (when an attributor is fitted)."""


def attack(run: Run) -> dict:
    cfg = run.cfg
    if not cfg.eval.attacks:
        return {}
    _check_relearn(run)
    if "quantize" in cfg.eval.attacks:  # refused before any attack runs, not after the others
        from dareu.eval.attacks.quantize import require_bitsandbytes

        require_bitsandbytes()
    run.corpus  # noqa: B018  (build the corpus, and fail on a bad one, before loading any model)
    mass = _ForgetMass(run)
    results: dict[str, dict] = {}
    for name, path in models_to_evaluate(run).items():
        model = _Lazy(lambda p=path: load_for_eval(run, p))
        fingerprint = eval_fingerprint(run, path)
        for attack_name in cfg.eval.attacks:
            key = _key(run, attack_name, fingerprint, mass)
            summary = run.stage(f"attack-{attack_name}-{name}", key,
                                lambda a=attack_name, n=name: _attack_one(run, a, n, model, mass),
                                outputs=[run.eval_dir(name) / "attacks" / f"{attack_name}.json"])
            if summary and is_rank_zero():  # merged even when up to date: summary.json rebuilds
                update_summary(run.out, name, summary)
            results.setdefault(name, {}).update(summary)
        model.drop()
    return results


def _check_relearn(run: Run) -> None:
    """Relearning trains every weight of a copy of the model: not a 4-bit one (refused before
    any attack runs, rather than after the others)."""
    from dareu.models import eval_mode

    if "relearn" in run.cfg.eval.attacks and eval_mode(run.cfg.model) == "qlora":
        raise ConfigError("eval.attacks: relearn is not supported with model.mode=qlora (models "
                          "are evaluated in 4-bit, and relearning trains every weight of a "
                          "copy); drop relearn from eval.attacks or evaluate in full precision.")


def _key(run: Run, attack_name: str, fingerprint: str, mass: "_ForgetMass") -> list:
    cfg, e = run.cfg, run.cfg.eval
    settings = {k: getattr(e.attack, k) for k in SETTINGS[attack_name]}
    key = [attack_name, settings, e.max_new_tokens, e.batch_size, e.max_items, cfg.data,
           cfg.run.seed, fingerprint]
    if attack_name == "relearn":
        key += [cfg.finetune.lr, cfg.finetune.batch_size, cfg.model.max_length]
    if attack_name in MASS:
        key.append(mass.fingerprint)
    return key


def _attack_one(run: Run, attack_name: str, name: str, model: "_Lazy", mass: "_ForgetMass") -> dict:
    if not is_rank_zero():  # under a DDP launch every rank runs the stages; one attacks
        return {}
    result = ATTACKS[attack_name](model.get(), inputs(run, mass.get(attack_name)
                                                      if attack_name in MASS else None))
    atomic_write_json(run.eval_dir(name) / "attacks" / f"{attack_name}.json",
                      {"summary": result.summary, "items": result.items, "notes": result.notes})
    log.info("attack %s on %s: %s", attack_name, name, result.summary)
    return result.summary


def inputs(run: Run, forget_mass=None) -> AttackInputs:
    """The run's forget records and settings as the plain objects the attacks take."""
    cfg = run.cfg
    return AttackInputs(
        tokenizer=run.tokenizer, forget=spread(run.corpus.forget, cfg.eval.max_items),
        owner_records=run.corpus.forget, settings=cfg.eval.attack, template=cfg.data.template,
        chat_template=cfg.data.chat_template, max_new_tokens=cfg.eval.max_new_tokens,
        batch_size=cfg.eval.batch_size, max_length=cfg.model.max_length, seed=cfg.run.seed,
        relearn_lr=cfg.eval.attack.relearn_lr or cfg.finetune.lr,
        relearn_batch_size=cfg.finetune.batch_size, forget_mass=forget_mass)


class _Lazy:
    """A model loaded on first use (never when every attack of it is up to date), freed after."""

    def __init__(self, load: Callable[[], PreTrainedModel]) -> None:
        self.load, self.model = load, None

    def get(self) -> PreTrainedModel:
        if self.model is None:
            self.model = self.load()
        return self.model

    def drop(self) -> None:
        if self.model is not None:
            self.model = None
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()


class _ForgetMass:
    """The reward attributor's forget mass of the answers of the attacks in MASS, when one is
    fitted."""

    def __init__(self, run: Run) -> None:
        self.run = run
        directory: Path = run.attributor_dir
        self.fingerprint = folder_fingerprint(directory) if directory.exists() else None
        self._fn = None

    def get(self, attack_name: str):
        if self.fingerprint is None:
            log.warning("attack %s: no fitted attributor in %s; attack_%s_mass skipped",
                        attack_name, self.run.attributor_dir, attack_name)
            return None
        if self._fn is None:
            from dareu.stages.objects import reward as run_reward

            reward = run_reward(self.run)
            self._fn = lambda prompts, answers: [float(m) for m in reward.forget_mass(prompts, answers)]
        return self._fn
