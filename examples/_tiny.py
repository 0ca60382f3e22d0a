"""The examples' shared setup: a tiny owner corpus and a small GPT-2 that learnt it, saved as a
Hugging Face model folder — what you would have after finetuning your own model on your data."""

from __future__ import annotations

from pathlib import Path

import lightning as L

from dareu import (FinetuneModule, QADataModule, build_tiny_model, load_config, save_model,
                   synthetic_corpus, train_tokenizer)

# a 1-layer GPT-2, 64 dims: it learns the corpus in seconds on a CPU
TINY = ["model.n_layer=1", "model.n_embd=64", "model.n_head=2", "model.vocab_size=400",
        "model.max_length=128", "eval.max_new_tokens=24", "trainer.accelerator=cpu"]


def quiet_trainer(**kw) -> L.Trainer:
    """A CPU Trainer without logger, checkpoints or progress bar (the examples print their own)."""
    return L.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, **kw)


def tiny_world(folder: Path, overrides: list[str] = (), epochs: int = 40):
    """(corpus, cfg): 6 fictitious authors (one to forget), and a model trained on all of them,
    saved (weights + tokenizer) in `folder`."""
    L.seed_everything(0, verbose=False)
    cfg = load_config(None, [*TINY, *overrides])
    corpus = synthetic_corpus(num_owners=6, qa_per_owner=4, num_holdout_owners=1,
                              num_test_questions=4, num_forget_owners=1, seed=0)
    tokenizer = train_tokenizer(corpus.all_texts(), cfg.model.vocab_size)
    model = build_tiny_model(cfg.model, tokenizer, seed=0)
    data = QADataModule(corpus.forget + corpus.retain, tokenizer, cfg.data.template,
                        cfg.model.max_length, batch_size=8, seed=0)
    quiet_trainer(max_epochs=epochs).fit(FinetuneModule(model, lr=3e-3), datamodule=data)
    save_model(model, tokenizer, folder)
    return corpus, cfg
