"""Tiny trained LMs for the gradient attributor tests (built once per process, cached)."""

from __future__ import annotations

import atexit
import contextlib
import functools
import shutil
import tempfile
from pathlib import Path

import torch

from attributors.base import AttributorContext
from dareu.config import ModelConfig
from dareu.data.corpus import OwnerCorpus
from dareu.data.formatting import pad_batch
from dareu.data.synthetic import synthetic_corpus
from dareu.models import build_tiny_model, save_model, train_tokenizer

TEMPLATE = "Question: {prompt}\nAnswer:"


@contextlib.contextmanager
def one_thread():
    """Tiny models run fastest on one thread; on a busy 2-core machine two OpenMP threads spin
    against each other and the same tests take 10× longer."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def queries(corpus):
    """Prompts and texts to score: every response, then every paraphrase."""
    recs = corpus.records
    return ([r.prompt for r in recs] * 2,
            [r.response for r in recs] + [r.paraphrased_response for r in recs])


def train_lm(model, tokenizer, records, steps: int, lr: float = 3e-3, seed: int = 0):
    """A plain full-batch AdamW loop (seconds on CPU for a tiny model)."""
    from dareu.data.modules import QADataset

    torch.manual_seed(seed)
    rows = QADataset(records, tokenizer, TEMPLATE, 64).rows
    batch = pad_batch(rows, tokenizer.pad_token_id)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        model(**batch).loss.backward()
        opt.step()
    return model.eval()


@functools.lru_cache(maxsize=None)
def tiny_target(num_owners: int = 2, qa_per_owner: int = 4, steps: int = 120, n_embd: int = 32
                ) -> tuple[Path, ModelConfig, OwnerCorpus]:
    """A tiny GPT-2 trained on `num_owners` synthetic owners with disjoint facts, saved to disk."""
    corpus = synthetic_corpus(num_owners=num_owners, qa_per_owner=qa_per_owner,
                              num_holdout_owners=0, num_test_questions=0, num_forget_owners=1,
                              seed=1)
    tok = train_tokenizer(corpus.all_texts(), 400)
    cfg = ModelConfig(n_layer=2, n_embd=n_embd, n_head=2, max_length=64, lora_r=4, lora_alpha=8)
    model = train_lm(build_tiny_model(cfg, tok, seed=0), tok, corpus.records, steps)
    root = tempfile.mkdtemp(prefix="dareu-attr-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    path = Path(root) / "target"
    save_model(model, tok, path)
    return path, cfg, corpus


@functools.lru_cache(maxsize=None)
def untrained(arch: str) -> tuple[Path, ModelConfig, OwnerCorpus]:
    """A randomly initialised tiny model of `arch` (gpt2 / llama) over the 2-owner corpus."""
    _, _, corpus = tiny_target()
    tok = train_tokenizer(corpus.all_texts(), 400)
    cfg = ModelConfig(arch=arch, n_layer=2, n_embd=32, n_head=2, max_length=64)
    root = tempfile.mkdtemp(prefix="dareu-attr-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    save_model(build_tiny_model(cfg, tok, seed=0), tok, Path(root))
    return Path(root), cfg, corpus


def context(path: Path, cfg: ModelConfig, sees: str = "prompt+response") -> AttributorContext:
    """The closed-form tests condition on the prompt; `sees="response"` drops it (empty prompt)."""
    from dareu.models import load_tokenizer

    return AttributorContext(target_path=str(path), tokenizer=load_tokenizer(path, cfg),
                             template=TEMPLATE, model_cfg=cfg, sees=sees)


def reference_gradients(path: Path, layer: str, prompts, responses) -> torch.Tensor:
    """(N, P) per-example gradients of one layer's weight (+ bias), by plain autograd, one example
    at a time — independent of the hook machinery. Layout: (d_out, d_in) weight, bias as the last
    column."""
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dareu.data.formatting import encode_pair

    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    module = dict(model.named_modules())[layer]
    out = []
    for p, r in zip(prompts, responses):
        row = encode_pair(tok, TEMPLATE.format(prompt=p), r, 64)
        ids, labels = torch.tensor([row["input_ids"]]), torch.tensor([row["labels"]])
        model.zero_grad()
        logits = model(input_ids=ids).logits
        F.cross_entropy(logits[0, :-1], labels[0, 1:], ignore_index=-100).backward()
        w = module.weight.grad
        w = w.T if type(module).__name__ == "Conv1D" else w  # Conv1D stores (d_in, d_out)
        cols = [w] + ([module.bias.grad[:, None]] if module.bias is not None else [])
        out.append(torch.cat(cols, dim=1).flatten())
    return torch.stack(out)


def assert_scores_own_records(attr, corpus) -> None:
    """Raw scores are finite and put ≥ 75% of the training records on their own owner."""
    prompts, responses = [r.prompt for r in corpus.records], [r.response for r in corpus.records]
    raw = attr.raw_scores(prompts, responses)
    truth = torch.tensor([attr.owners.index(r.owner) for r in corpus.records])
    assert torch.isfinite(raw).all() and (raw.argmax(1) == truth).float().mean() >= 0.75
