"""Batched teacher-forced scoring == a slow loop that scores one example at a time."""

from __future__ import annotations

import math

import pytest
import torch

from dareu.config import ModelConfig
from dareu.data.formatting import IGNORE, encode_pair
from dareu.scoring import score_responses
from dareu.models import build_tiny_model, train_tokenizer

TEXTS = ["Where was Ada born?", "Born in Lisbon, Portugal, in 1950.", "What did Ada write?",
         "She wrote The Copper Lantern and many short stories about the sea.", "Yes.", "No idea at all"]


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def lm(request):
    tok = train_tokenizer(TEXTS * 3, vocab_size=300)
    cfg = ModelConfig(arch=request.param, n_layer=1, n_embd=32, n_head=2, max_length=64)
    return build_tiny_model(cfg, tok, seed=0).eval(), tok


def _slow(model, tok, prompt, response, max_length):
    """One example, no padding: log p of each response token and the argmax before it."""
    row = encode_pair(tok, prompt, response, max_length)
    ids = torch.tensor([row["input_ids"]])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)  # (L, V)
    lps, preds, targets = [], [], []
    for t, label in enumerate(row["labels"]):
        if label != IGNORE:
            lps.append(float(logp[t - 1, label]))
            preds.append(int(logp[t - 1].argmax()))
            targets.append(label)
    return lps, preds, targets


def test_batched_scores_match_one_at_a_time(lm):
    model, tok = lm
    prompts = ["Question: Where was Ada born?\nAnswer:", "Question: What did Ada write?\nAnswer:",
               "Q: x\nA:", "Question: Where was Ada born?\nAnswer:"]
    responses = ["Born in Lisbon, Portugal, in 1950.",
                 "She wrote The Copper Lantern and many short stories about the sea.", "Yes.", ""]
    s = score_responses(model, tok, prompts, responses, max_length=64, batch_size=3)
    assert len(s) == 4 and s.token_logps.shape == s.mask.shape == s.pred_ids.shape
    for i, (p, r) in enumerate(zip(prompts, responses)):
        lps, preds, targets = _slow(model, tok, p, r, 64)
        n = len(lps)
        assert int(s.num_tokens[i]) == n
        assert s.mask[i, :n].all() and not s.mask[i, n:].any()
        assert s.target_ids[i, :n].tolist() == targets
        assert s.pred_ids[i, :n].tolist() == preds
        torch.testing.assert_close(s.token_logps[i, :n].double(), torch.tensor(lps, dtype=torch.float64), atol=1e-4, rtol=1e-4)
        assert math.isclose(float(s.avg_nll[i]), -sum(lps) / n, abs_tol=1e-4)


def test_truncation_keeps_the_answer(lm):
    model, tok = lm
    long_prompt = "Question: " + "What did Ada write? " * 40 + "\nAnswer:"
    s = score_responses(model, tok, [long_prompt], ["Yes."], max_length=16, batch_size=4)
    lps, _, _ = _slow(model, tok, long_prompt, "Yes.", 16)
    assert int(s.num_tokens[0]) == len(lps) and len(lps) > 0
    assert math.isclose(float(s.avg_nll[0]), -sum(lps) / len(lps), abs_tol=1e-4)


def test_model_mode_is_restored(lm):
    model, tok = lm
    model.train()
    score_responses(model, tok, ["Q: x\nA:"], ["Yes."], max_length=32, batch_size=2)
    assert model.training
    model.eval()
