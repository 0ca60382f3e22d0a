"""The run directory and its resumable stages.

Each stage writes its outputs atomically and then a marker `stages/<name>.json` holding the hash of
the config that produced them; a stage whose marker matches the current config is skipped, so a
stopped run resumes where it stopped and an edited recipe reruns only what it changed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence, Tuple, Union

import torch

from dareu.config import Config, attributor_slug, config_hash, save_config
from dareu.distributed import barrier, from_rank_zero, is_rank_zero  # noqa: F401 (stages import them here)
from dareu.io import atomic_write_json, read_json

log = logging.getLogger("dareu")


class Run:
    """Paths and lazily built shared objects (corpus, tokenizer) of one run directory."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.out = Path(cfg.run.output_dir)
        self._resolved: dict[str, Path] = {}
        if cfg.run.threads:
            torch.set_num_threads(cfg.run.threads)

    # -- paths (a hub id resolves to its folder in the Hugging Face cache) ---------------------
    def _user_model(self, key: str) -> Path | None:
        from dareu.hub import local_model_dir

        value = getattr(self.cfg.model, key)
        if not value:
            return None
        if key not in self._resolved:
            self._resolved[key] = local_model_dir(value, f"model.{key}", self.cfg.model.allow_pickle)
        return self._resolved[key]

    @property
    def tokenizer_dir(self) -> Path:
        for key in ("tokenizer_path", "path", "base_path"):
            if (found := self._user_model(key)) is not None:
                return found
        return self.out / "tokenizer"

    @property
    def target_dir(self) -> Path:
        return self._user_model("path") or self.out / "target"

    @property
    def oracle_dir(self) -> Path:
        return self._user_model("oracle_path") or self.out / "oracle"

    @property
    def base_dir(self) -> Path | None:
        """The pretrained base target and oracle are finetuned from (`Config.has_base`): the run's
        own pretraining when it has one, else the user's model.base_path; None when there is none."""
        if not self.cfg.has_base:
            return None
        if self.cfg.finetune.pretrain_owners:
            return self.out / "base"
        return self._user_model("base_path")

    @property
    def attributor_dir(self) -> Path:
        return self.out / "attributor"

    def eval_attributor_dir(self, name: str) -> Path:
        """Where the extra attributor `name` of eval.attributors is saved: the reward's own
        folder when it is the reward's attributor, else attributors/<name>/."""
        if name == self.cfg.attributor.name:
            return self.attributor_dir
        return self.out / "attributors" / attributor_slug(name)

    def method_dir(self, method: str) -> Path:
        return self.out / "methods" / method

    def eval_dir(self, model: str) -> Path:
        return self.out / "eval" / model

    # -- shared objects -----------------------------------------------------------------------
    @cached_property
    def corpus(self):
        from dareu.data import build_corpus

        return build_corpus(self.cfg.data, self.cfg.run.seed)

    @cached_property
    def tokenizer(self):
        from dareu.models import load_tokenizer

        return load_tokenizer(self.tokenizer_dir, self.cfg.model)

    def prompt_text(self, prompt: str) -> str:
        from dareu.data.formatting import format_prompt

        d = self.cfg.data
        return format_prompt(prompt, self.tokenizer, d.template, d.chat_template)

    # -- stages -------------------------------------------------------------------------------
    def marker(self, stage: str) -> Path:
        return self.out / "stages" / f"{stage}.json"

    def stage_hash(self, stage: str) -> str | None:
        m = read_json(self.marker(stage))
        return m["hash"] if m else None

    def stage(self, name: str, key: list[Any], fn: Callable[[], dict | None],
              outputs: Sequence[Output] = ()) -> dict:
        """Run `fn` unless it is up to date; return its result.

        Up to date means: a finished marker with the same config hash exists *and* every one of
        `outputs` is still there (a path that must exist, or `(json_path, key)` for a key that
        must be in that JSON file), so a deleted model or summary row makes the stage run again.

        Under multi-process strategies (Lightning's DDP launcher re-runs the command for every
        rank) every rank runs the same stages; only rank 0 writes, and every stage — run or
        skipped — ends with a barrier, so no rank reads an output before rank 0 has written it.
        """
        h = config_hash(*key)
        marker = read_json(self.marker(name))
        if marker and marker.get("hash") == h:
            missing = from_rank_zero(missing_outputs(outputs))
            if not missing:
                log.info("stage %s: up to date (config %s), skipped", name, h)
                barrier()
                return marker.get("result") or {}
            log.warning("stage %s: its outputs are missing (%s): running it again", name,
                        ", ".join(missing))
        log.info("stage %s: running (config %s)", name, h)
        t0 = time.time()
        result = fn() or {}
        if is_rank_zero():
            atomic_write_json(self.marker(name), {"hash": h, "wall_s": round(time.time() - t0, 2),
                                                  "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                                  "result": result})
            save_config(self.cfg, self.out / "config.yaml")
        barrier()
        return result

    def stage_times(self) -> dict[str, float]:
        out = {}
        for p in sorted((self.out / "stages").glob("*.json")):
            out[p.stem] = read_json(p).get("wall_s")
        return out


Output = Union[Path, Tuple[Path, str]]


def missing_outputs(outputs: Sequence[Output]) -> list[str]:
    """The outputs of a stage that are not there: missing paths, or keys missing from JSON files
    (a dotted key, `models.target`, looks into nested objects)."""
    missing = []
    for out in outputs:
        if isinstance(out, tuple):
            path, key = out
            node = read_json(path) or {}
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                missing.append(f"{key!r} in {path}")
        elif not Path(out).exists():
            missing.append(str(out))
    return missing


def model_key(cfg: Config) -> dict:
    """The model settings that change the target/oracle (not the unlearning mode)."""
    skip = {"mode", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "merge_adapters",
            "gradient_checkpointing"}  # the unlearning's memory/compute trade, not the weights
    return {k: v for k, v in asdict(cfg.model).items() if k not in skip}
