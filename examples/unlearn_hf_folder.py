"""Unlearn one author from a Hugging Face model folder with DareU, in your own Lightning Trainer.

    python examples/unlearn_hf_folder.py [OUT_DIR]        # CPU, about a minute

`tiny_world` stands in for your data and your model folder; the rest is what you would write.
Your logger, callbacks and strategy (`strategy="ddp", devices=4`) go into `L.Trainer` as usual.
"""

import sys
import tempfile
from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import CSVLogger

from _tiny import tiny_world
from attributors import AttributorContext, build_attributor
from dareu import DareU, DeAttributionReward, EvalTask, Policy, headline_metrics, load_tokenizer

SHORT = ["unlearn.steps=4", "unlearn.sampling.prompts_per_step=4", "unlearn.sampling.max_new_tokens=16"]


def main(out: Path) -> dict:
    corpus, cfg = tiny_world(out / "model", SHORT)          # your owner corpus and HF model folder
    tokenizer = load_tokenizer(out / "model", cfg.model)
    policy = Policy.from_pretrained(out / "model", tokenizer, cfg.model, mode="full")
    # the attributor: which owner wrote a text (a tiny classifier, fitted in seconds)
    options = {"n_layer": 1, "n_embd": 64, "n_head": 2, "epochs": 3, "max_length": 64}
    context = AttributorContext(tokenizer=tokenizer, model_cfg=cfg.model)
    attributor = build_attributor("classifier", options, context).fit(corpus)
    reward = DeAttributionReward(attributor, forget_owners=corpus.forget_owners)

    task = EvalTask(corpus, tokenizer, cfg.eval, cfg.model.max_length)
    before = headline_metrics(task, policy.model, "before", reward)
    module = DareU(policy, reward, [r.prompt for r in corpus.forget], corpus.retain, cfg)
    trainer = L.Trainer(max_steps=cfg.unlearn.steps * module.optimizer_steps_per_batch,
                        accelerator="cpu", logger=CSVLogger(out, name="logs", version=""),
                        enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(module)
    policy.save(out / "unlearned", cfg.model)                 # a HF folder again
    after = headline_metrics(task, policy.model, "after", reward)
    print(f"forget mass {before['forget_attribution_mass']} -> {after['forget_attribution_mass']}, "
          f"retain ROUGE {before['retain_rouge']} -> {after['retain_rouge']}; model in {out / 'unlearned'}")
    return after


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="dareu-example-")))
