"""The tiny DareU harness the module tests share: a tiny run and random-init GPT-2 (`base`), a
toy reward whose optimum is known (`VowelReward`), a module built from overrides (`make`) and a
short fit that returns the logged step metrics (`fit`)."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from dareu.config import load_config
from dareu.models import build_tiny_model, train_tokenizer
from dareu.modules.dareu import DareUModule
from dareu.modules.policy import Policy
from dareu.pipeline import Run
from dareu.trainer import make_trainer

TINY = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1",
        "data.num_test_questions=4", "model.n_layer=2", "model.n_embd=32", "model.n_head=2",
        "model.vocab_size=400", "model.max_length=64", "model.lora_r=4", "model.lora_alpha=8",
        "trainer.accelerator=cpu", "trainer.devices=1", "trainer.enable_progress_bar=false",
        "unlearn.sampling.prompts_per_step=4", "unlearn.sampling.group_size=4", "unlearn.sampling.max_new_tokens=12",
        "unlearn.retain.batch_size=4"]
# a fast learner for the toy problem: no anchor, no fluency guard, one update per rollout; it
# collapses onto vowel tokens by design, so collapse only warns
TOY = ["unlearn.lr=5e-2", "unlearn.objective.beta=0", "unlearn.retain.weight=0", "unlearn.objective.epochs=1",
       "unlearn.reward.fluency.weight=0", "unlearn.on_collapse=warn"]


class VowelReward:
    """forget mass = 1 − vowel fraction of the response's letters; reward = −mass."""

    def __init__(self, nan_after: int | None = None) -> None:
        self.calls, self.nan_after = 0, nan_after

    def forget_mass(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        out = []
        for r in responses:
            letters = [c for c in r.lower() if c.isalpha()]
            out.append(1 - sum(c in "aeiou" for c in letters) / max(len(letters), 1))
        return torch.tensor(out)

    def rewards(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        self.calls += 1
        r = -self.forget_mass(prompts, responses)
        if self.nan_after is not None and self.calls > self.nan_after:
            r[0] = float("nan")
        return r


class Recorder(Callback):
    """Collects the logged step metrics."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.rows.append(dict(pl_module.step_metrics))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny run (corpus + tokenizer) and a saved random-init GPT-2 to load in any mode."""
    out = tmp_path_factory.mktemp("dareu")
    run = Run(load_config(None, TINY + [f"run.output_dir={out}"]))
    tok = train_tokenizer(run.corpus.all_texts(), 400)
    model = build_tiny_model(run.cfg.model, tok, seed=0)
    model.save_pretrained(out / "model")
    tok.save_pretrained(out / "model")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: a second thread only adds contention on a busy machine
    yield run, tok, out
    torch.set_num_threads(threads)


def make(base, overrides: list[str], mode: str = "full", reward=None) -> DareUModule:
    run0, tok, out = base
    cfg = load_config(None, TINY + overrides + [f"run.output_dir={out}", f"model.mode={mode}"])
    run = Run(cfg)
    run.__dict__.update(corpus=run0.corpus, tokenizer=tok)
    L.seed_everything(0, verbose=False)
    policy = Policy.from_pretrained(out / "model", tok, cfg.model, mode)
    return DareUModule(policy, reward or VowelReward(), run.corpus.forget, run.corpus.retain, cfg)


def fit(module: DareUModule, steps: int, name: str = "t", ckpt_path=None, callbacks=()) -> list[dict]:
    rec = Recorder()
    trainer = make_trainer(module.cfg.trainer, module.cfg.output_dir / "logs", name, log_every_n_steps=1,
                           max_steps=steps * module.optimizer_steps_per_batch,
                           callbacks=[rec, *callbacks], enable_checkpointing=bool(callbacks))
    trainer.fit(module, ckpt_path=ckpt_path)
    return rec.rows


class FullMass(VowelReward):
    """Every response is still wholly the forget owners': the groups have no spread at all."""

    def __init__(self, mass: float = 1.0) -> None:
        super().__init__()
        self.mass = mass

    def forget_mass(self, prompts, responses):
        return torch.full((len(responses),), self.mass)
