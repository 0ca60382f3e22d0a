"""Extraction strength and Min-K% score the answer without the EOS that ends it, as
open-unlearning does (its token-wise log-probs drop the last label); the LOSS attack and the
probabilities keep the EOS, as there. A bigram model that predicts every answer token but not
the EOS tells the two apart."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from dareu.config import EvalConfig
from dareu.data.corpus import OwnerCorpus, Record
from dareu.data.formatting import IGNORE, encode_pair
from dareu.eval import measure
from dareu.scoring import score_responses
from dareu.eval.sets import EvalSets
from dareu.eval.task import EvalTask
from dareu.models import train_tokenizer

TEXTS = ["Question: What did Ada write?\nAnswer: She wrote The Copper Lantern."] * 20
PROMPT, ANSWER = "What did Ada write?", "She wrote The Copper Lantern."
RECORD = Record(id="f0", owner="ada", prompt=PROMPT, response=ANSWER)
CORPUS = OwnerCorpus("ada", [RECORD, Record(id="r0", owner="bo", prompt="Who?", response="Bo.")],
                     forget_owners=["ada"], retain_owners=["bo"])
SURE = 10.0  # the logit of the one next token the table predicts; every other token gets 0


class Bigram(torch.nn.Module):
    """Next-token logits from the current token alone, read from a table."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.table = torch.nn.Parameter(torch.zeros(vocab, vocab), requires_grad=False)

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=self.table[input_ids])


@pytest.fixture(scope="module")
def setup():
    tok = train_tokenizer(TEXTS, vocab_size=300)
    task = EvalTask(CORPUS, tok, EvalConfig(metrics=["mia"]), max_length=64)
    row = encode_pair(tok, task.prompt_text(PROMPT), ANSWER, 64)
    start = row["labels"].index(next(t for t in row["labels"] if t != IGNORE))
    ids = row["input_ids"][start - 1:]  # the prompt's last token, the answer, EOS
    assert ids[-1] == tok.eos_token_id and len(set(ids[:-1])) == len(ids) - 1, ids  # a bigram can
    model = Bigram(len(tok))  # predict each answer token; after the last one it says the first
    for prev, nxt in zip(ids[:-2], ids[1:-1]):
        model.table[prev, nxt] = SURE
    model.table[ids[-2], ids[1]] = SURE  # not EOS
    return task, model, ids


def test_extraction_strength_and_min_k_leave_out_the_eos(setup):
    task, model, ids = setup
    sets = EvalSets(forget=[RECORD], retain=[], tests={}, holdout=[])
    got = measure.teacher_forced(task, model, sets)["forget"]
    assert got["es"] == [1.0]  # every answer token predicted; with the EOS counted it was 0.0

    logps = torch.log_softmax(model.table[torch.tensor(ids[:-1])], dim=-1)  # (n + 1, V)
    answer = [float(logps[t, ids[t + 1]]) for t in range(len(ids) - 2)]   # n answer tokens
    eos = float(logps[-1, ids[-1]])
    # open-unlearning's MinKProbAttack.compute_score on the answer's log-probs
    num_k = max(1, int(len(answer) * task.cfg.mia_k))
    assert got["min_k"][0] == pytest.approx(-sum(sorted(answer)[:num_k]) / num_k, rel=1e-4)
    assert got["min_k"][0] < 0.1 < 5 < -eos  # the EOS, the least likely token, is not among them
    # LOSS (and every probability) averages over the EOS too, as open-unlearning's
    assert got["nll"][0] == pytest.approx(-(sum(answer) + eos) / (len(answer) + 1), rel=1e-4)


def test_an_answer_cut_by_max_length_keeps_its_last_token(setup):
    task, model, _ = setup
    prompt = task.prompt_text(PROMPT)
    whole = score_responses(model, task.tokenizer, [prompt], [ANSWER], 64, 4)
    cut = score_responses(model, task.tokenizer, [prompt], [ANSWER], 4, 4)  # 3 answer tokens, no EOS
    assert whole.final_eos.tolist() == [True]
    assert int(whole.answer_mask.sum()) == int(whole.num_tokens[0]) - 1
    assert cut.final_eos.tolist() == [False] and torch.equal(cut.answer_mask, cut.mask)
