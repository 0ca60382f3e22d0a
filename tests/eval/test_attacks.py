"""The attacks of eval.attacks on plain objects: on a tiny corpus the target (which knows the
forget owners) gives back clearly more than the oracle (which never saw them), attack by attack,
and every eval.attack setting changes what an attack does.

Tiny models trained from scratch on one prompt format cannot read a reworded or a long multi-turn
prompt at all (every model, target included, then answers noise), so the fixture trains target
and oracle on the plain, the reworded and the primed form of their owners' questions — as a
pretrained LLM has seen rewordings and multi-turn prompts. The forget owners appear only in the
target's data; the oracle is trained on the retain owners alone.
"""

from __future__ import annotations

from dataclasses import replace

import lightning as L
import pytest
import torch

from dareu.config import AttackConfig, ModelConfig, load_config
from dareu.config import ATTACKS as ATTACK_NAMES
from dareu.data.corpus import Record
from dareu.data.formatting import format_primed_prompt
from dareu.data.modules import qa_loader
from dareu.data.synthetic import synthetic_corpus
from dareu.errors import ConfigError, DareUError
from dareu.eval.attacks import ATTACKS, AttackInputs
from dareu.eval.attacks.priming import _others
from dareu.eval.attacks.relearn import relearn, split_halves
from dareu.models import build_tiny_model, train_tokenizer
from dareu.finetune import FinetuneModule

TEMPLATE = "Question: {prompt}\nAnswer:"
MARGIN = 0.2  # "clearly more": the target's figure exceeds the oracle's by at least this much


def _rows(records: list[Record], pool: list[Record], tok) -> list[Record]:
    """Each record as three already formatted training rows: plain, reworded, primed."""
    rows = []
    for r in records:
        pairs = [(o.prompt, o.response) for o in _others(r, pool, 1)]
        for kind, text in (("plain", TEMPLATE.format(prompt=r.prompt)),
                           ("para", TEMPLATE.format(prompt=r.paraphrased_prompt)),
                           ("primed", format_primed_prompt(pairs, r.prompt, tok, TEMPLATE))):
            rows.append(replace(r, id=f"{r.id}-{kind}", prompt=text))
    return rows


def _train(rows: list[Record], tok, seed: int = 0):
    L.seed_everything(seed, verbose=False)
    model = build_tiny_model(ModelConfig(n_layer=1, n_embd=64, n_head=2, max_length=128), tok, seed)
    loader = qa_loader(rows, tok, "{prompt}", 128, 8, seed)
    trainer = L.Trainer(max_epochs=40, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(FinetuneModule(model, 0.01), train_dataloaders=loader)
    return model.eval()


@pytest.fixture(scope="module")
def world():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    corpus = synthetic_corpus(num_owners=5, qa_per_owner=4, num_holdout_owners=0,
                              num_test_questions=0, num_perturbed=1, num_forget_owners=2, seed=0)
    tok = train_tokenizer(corpus.all_texts() + [TEMPLATE.format(prompt="")], 512)
    target = _train(_rows(corpus.records, corpus.records, tok), tok)
    oracle = _train(_rows(corpus.retain, corpus.retain, tok), tok)
    inputs = AttackInputs(tokenizer=tok, forget=corpus.forget, owner_records=corpus.forget,
                          settings=AttackConfig(priming_pairs=1, relearn_steps=5),
                          template=TEMPLATE, chat_template=False, max_new_tokens=24,
                          batch_size=16, max_length=128, seed=0, relearn_lr=3e-4,
                          relearn_batch_size=4)
    yield target, oracle, inputs
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name,key", [("sampling", "attack_sampling_rouge"),
                                      ("sampling", "attack_sampling_hit"),
                                      ("paraphrase", "attack_paraphrase_rouge"),
                                      ("relearn", "attack_relearn_rouge"),
                                      ("priming", "attack_priming_rouge")])
def test_the_target_gives_back_clearly_more_than_the_oracle(world, name, key):
    target, oracle, inputs = world
    got = {who: ATTACKS[name](m, inputs).summary[key] for who, m in (("target", target),
                                                                      ("oracle", oracle))}
    assert got["target"] >= got["oracle"] + MARGIN, got
    assert 0 <= got["oracle"] <= got["target"] <= 1


def test_sampling_draws_k_answers_per_prompt_the_same_for_every_call(world):
    target, _, inputs = world
    small = replace(inputs, settings=replace(inputs.settings, samples=3))
    a, b = ATTACKS["sampling"](target, small), ATTACKS["sampling"](target, small)
    assert [len(it["rouge"]) for it in a.items] == [3] * len(inputs.forget)
    assert a.items == b.items  # seeded: reproducible, and the global RNG is left alone
    for it in a.items:
        assert it["best_rouge"] == max(it["rouge"])
    hits = sum(it["best_rouge"] >= 0.9 for it in a.items) / len(a.items)
    assert a.summary["attack_sampling_hit"] == pytest.approx(hits, abs=1e-4)


def test_paraphrase_asks_the_reworded_question_and_skips_records_without_one(world):
    target, _, inputs = world
    forget = [inputs.forget[0], replace(inputs.forget[1], paraphrased_prompt=None)]
    res = ATTACKS["paraphrase"](target, replace(inputs, forget=forget))
    assert [it["prompt"] for it in res.items] == [forget[0].paraphrased_prompt]
    none = ATTACKS["paraphrase"](target, replace(inputs, forget=forget[1:]))
    assert none.summary == {"attack_paraphrase_rouge": None}


def test_relearn_measures_only_the_unseen_half_and_leaves_the_model_alone(world):
    target, _, inputs = world
    shown, unseen = split_halves(inputs.forget, inputs.seed)
    assert len(shown) == len(unseen) == 4 and not {r.id for r in shown} & {r.id for r in unseen}
    for owner in inputs.forget[0].owner, inputs.forget[-1].owner:  # half of each owner shown
        assert sum(r.owner == owner for r in shown) == 2
    before = [p.clone() for p in target.parameters()]
    res = ATTACKS["relearn"](target, inputs)
    assert [it["id"] for it in res.items] == [r.id for r in unseen]
    assert res.summary["attack_relearn_mass"] is None  # no attributor given
    assert all(torch.equal(a, b) for a, b in zip(before, target.parameters()))
    with pytest.raises(DareUError, match="relearn needs"):
        ATTACKS["relearn"](target, replace(inputs, forget=inputs.forget[:1]))


def test_relearn_reports_the_forget_mass_of_its_answers(world):
    target, _, inputs = world
    seen = []

    def mass(prompts, answers):
        seen.append((list(prompts), list(answers)))
        return [0.25] * len(answers)

    res = ATTACKS["relearn"](target, replace(inputs, forget_mass=mass))
    assert res.summary["attack_relearn_mass"] == 0.25
    assert seen[0][1] == [it["answer"] for it in res.items]


@pytest.mark.parametrize("field,values", [("relearn_steps", (1, 3)), ("relearn_lr", (1e-4, 1e-3))])
def test_relearn_steps_and_lr_change_the_relearned_weights(world, field, values):
    _, oracle, inputs = world
    shown, _ = split_halves(inputs.forget, 0)
    weights = []
    for v in values:
        i = (replace(inputs, relearn_lr=v) if field == "relearn_lr"
             else replace(inputs, settings=replace(inputs.settings, relearn_steps=v)))
        weights.append(torch.cat([p.flatten() for p in relearn(oracle, shown, i).parameters()]))
    assert not torch.allclose(weights[0], weights[1])


def test_priming_puts_the_owners_other_pairs_first_and_fits_the_context(world):
    target, _, inputs = world
    r = inputs.forget[0]
    others = _others(r, inputs.owner_records, 2)
    assert [o.owner for o in others] == [r.owner] * 2 and r.id not in {o.id for o in others}

    def tokens(record, n_pairs, max_new):
        pairs = [(o.prompt, o.response) for o in _others(record, inputs.owner_records, 2)]
        return inputs.prompt_tokens(inputs.prompt_text(record.prompt, pairs[2 - n_pairs:])) + max_new

    for max_new in (8, 60):  # the model has 128 positions
        two = replace(inputs, max_new_tokens=max_new,
                      settings=replace(inputs.settings, priming_pairs=2))
        items = ATTACKS["priming"](target, two).items
        for rec, it in zip(inputs.forget, items):
            assert tokens(rec, it["pairs"], max_new) <= 128  # it fits ...
            assert it["pairs"] == 2 or tokens(rec, it["pairs"] + 1, max_new) > 128  # ... maximally
        assert {it["pairs"] for it in items} == ({1, 2} if max_new == 8 else {0, 1})


def test_attack_names_and_settings_are_checked():
    assert tuple(ATTACKS) == ATTACK_NAMES
    assert load_config(None, ["eval.attacks=[relearn,sampling]"]).eval.attacks == ["relearn", "sampling"]
    for bad in ("eval.attacks=[jailbreak]", "eval.attacks=[relearn,relearn]",
                "eval.attack.samples=0", "eval.attack.relearn_lr=-1"):
        with pytest.raises(ConfigError, match="eval.attack"):
            load_config(None, [bad])
