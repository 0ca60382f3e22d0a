"""The quantization attack runs bitsandbytes for real (no mocks) on a tiny GPT-2 that memorised
its forget QA.

To show that it really quantizes, a second model computes exactly what the first computes in
full precision but hides its MLP from quantization: a few MLP units are switched off (a bias far
below zero, so the activation is exactly 0) and given huge outgoing weights. In full precision
those weights multiply zeros; quantized, they set every block's (nf4) or row's (int8) scale, so
all the other outgoing weights round to 0 and the MLP goes silent.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from types import SimpleNamespace

import lightning as L
import pytest
import torch

from dareu.config import AttackConfig, ModelConfig, load_config
from dareu.data.modules import qa_loader
from dareu.data.synthetic import synthetic_corpus
from dareu.errors import ConfigError
from dareu.eval.attacks import ATTACKS, HEADLINE, AttackInputs
from dareu.eval.attacks.quantize import unsupported
from dareu.models import build_tiny_model, is_peft, load_causal_lm, save_model, train_tokenizer
from dareu.finetune import FinetuneModule

TEMPLATE = "Question: {prompt}\nAnswer:"
CFG = ModelConfig(n_layer=1, n_embd=64, n_head=2, max_length=128, lora_r=4, lora_alpha=8)
KEYS = {"attack_quantize_rouge", "attack_quantize_changed", "attack_quantize_mass",
        "attack_quantize_int8_rouge", "attack_quantize_int8_changed", "attack_quantize_int8_mass",
        "attack_quantize_rouge_before"}
INT8_ON_CPU = unsupported(8, torch.device("cpu"), torch.float32) is None


def _dead_units(model, huge: bool):
    """A copy with every 64th MLP unit off; `huge`: with outgoing weights 1000x the largest."""
    model = copy.deepcopy(model)
    with torch.no_grad():
        for block in model.transformer.h:
            fc, proj = block.mlp.c_fc, block.mlp.c_proj  # Conv1D: weight is (in, out)
            scale = 1e3 * proj.weight.abs().max()
            for j in range(0, fc.bias.numel(), 64):  # one per 64-wide nf4 block of each row
                fc.bias[j] = -1e4
                if huge:
                    proj.weight[j, :] = scale
    return model.eval()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    corpus = synthetic_corpus(num_owners=3, qa_per_owner=4, num_holdout_owners=0,
                              num_test_questions=0, num_perturbed=1, num_forget_owners=1, seed=0)
    tok = train_tokenizer(corpus.all_texts() + [TEMPLATE.format(prompt="")], 400)
    L.seed_everything(0, verbose=False)
    trained = build_tiny_model(CFG, tok, 0)
    L.Trainer(max_epochs=40, accelerator="cpu", devices=1, logger=False,
              enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
              ).fit(FinetuneModule(trained, 0.01),
                    train_dataloaders=qa_loader(corpus.forget, tok, TEMPLATE, 128, 4, 0))
    target, hidden = _dead_units(trained, huge=False), _dead_units(trained, huge=True)
    inputs = AttackInputs(tokenizer=tok, forget=corpus.forget, owner_records=corpus.forget,
                          settings=AttackConfig(), template=TEMPLATE, chat_template=False,
                          max_new_tokens=24, batch_size=16, max_length=128, seed=0,
                          relearn_lr=3e-4, relearn_batch_size=4)
    folder = tmp_path_factory.mktemp("target")
    save_model(target, tok, folder)
    return target, hidden, inputs, folder


@pytest.fixture(scope="module")
def results(world):
    target, hidden, inputs, _ = world
    return {"target": ATTACKS["quantize"](target, inputs),
            "hidden": ATTACKS["quantize"](hidden, inputs)}


def test_keys_items_and_the_model_left_alone(world, results):
    target, _, inputs, _ = world
    res = results["target"]
    assert set(res.summary) == KEYS and HEADLINE["quantize"] in res.summary
    assert res.summary["attack_quantize_rouge_before"] > 0.5  # it memorised the forget answers
    assert [it["id"] for it in res.items] == [r.id for r in inputs.forget]
    changed = [it["answer"] != it["answer_before"] for it in res.items]
    assert res.summary["attack_quantize_changed"] == pytest.approx(sum(changed) / len(changed))
    assert res.summary["attack_quantize_mass"] is None  # no attributor given
    assert not any(p.dtype == torch.uint8 for p in target.parameters())  # still full precision


def test_quantization_changes_answers_only_where_it_changes_the_weights(world, results):
    target, hidden, inputs, _ = world
    ids = inputs.tokenizer(TEMPLATE.format(prompt=inputs.forget[0].prompt),
                           return_tensors="pt")["input_ids"]
    with torch.no_grad():  # the two models are one model in full precision ...
        assert torch.equal(target(input_ids=ids).logits, hidden(input_ids=ids).logits)
    t, h = results["target"].summary, results["hidden"].summary
    assert [it["answer_before"] for it in results["target"].items] == \
        [it["answer_before"] for it in results["hidden"].items]
    # ... but quantized, the target keeps its answers and the hidden one loses its MLP
    assert t["attack_quantize_changed"] <= 0.25 and t["attack_quantize_rouge"] > 0.5
    assert h["attack_quantize_changed"] == 1.0
    assert h["attack_quantize_rouge"] < t["attack_quantize_rouge"] - 0.4
    if INT8_ON_CPU:
        assert h["attack_quantize_int8_changed"] == 1.0
        assert t["attack_quantize_int8_rouge"] > 0.5 and h["attack_quantize_int8_rouge"] < 0.4
    else:  # not run, and said so, rather than a made-up figure
        assert h["attack_quantize_int8_rouge"] is None
        assert any(n.startswith("8-bit not run") for n in results["hidden"].notes)


def test_a_width_bitsandbytes_cannot_run_here_gives_no_figure_and_says_why(world, monkeypatch):
    from dareu.eval.attacks import quantize

    target, _, inputs, _ = world
    monkeypatch.setattr(quantize, "unsupported", lambda bits, device, dtype:
                        "no 8-bit kernels for cpu" if bits == 8 else None)
    res = ATTACKS["quantize"](target, replace(inputs, forget=inputs.forget[:1]))
    assert res.summary["attack_quantize_rouge"] is not None  # 4-bit still ran, for real
    assert [res.summary[f"attack_quantize_int8_{k}"] for k in ("rouge", "changed", "mass")] == \
        [None] * 3
    assert res.notes == ["8-bit not run: no 8-bit kernels for cpu"]
    assert "answer_int8" not in res.items[0]


def test_the_forget_mass_is_that_of_the_quantized_answers(world):
    target, _, inputs, _ = world
    seen = []

    def mass(prompts, answers):
        seen.append(list(answers))
        return [0.25] * len(answers)

    res = ATTACKS["quantize"](target, replace(inputs, forget=inputs.forget[:2], forget_mass=mass))
    assert seen[0] == [it["answer"] for it in res.items]
    assert res.summary["attack_quantize_mass"] == 0.25
    if INT8_ON_CPU:
        assert seen[1] == [it["answer_int8"] for it in res.items]
        assert res.summary["attack_quantize_int8_mass"] == 0.25


def test_a_4bit_model_is_its_own_4bit_model_and_an_adapter_on_one_is_merged(world):
    _, _, inputs, folder = world
    few = replace(inputs, forget=inputs.forget[:2])
    nf4 = load_causal_lm(folder, CFG, mode="qlora", trainable=False)
    res = ATTACKS["quantize"](nf4, few)
    assert res.summary["attack_quantize_rouge"] == res.summary["attack_quantize_rouge_before"]
    assert res.summary["attack_quantize_changed"] == 0.0
    assert res.summary["attack_quantize_int8_rouge"] is None
    assert any("already 4-bit" in n for n in res.notes)
    assert any(n.startswith("8-bit not run") for n in res.notes)

    adapted = load_causal_lm(folder, CFG, mode="qlora")  # LoRA on the 4-bit base, as qlora runs
    with torch.no_grad():
        for name, p in adapted.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5, generator=torch.Generator().manual_seed(0))
    before = {n: p.clone() for n, p in adapted.named_parameters() if "lora_" in n}
    res = ATTACKS["quantize"](adapted, few)
    assert any("merged into the 4-bit base" in n for n in res.notes)
    assert res.summary["attack_quantize_rouge"] is not None
    assert is_peft(adapted) and all(torch.equal(p, before[n]) for n, p in
                                    adapted.named_parameters() if "lora_" in n)


def test_widths_that_are_no_multiple_of_the_blocks(world):
    """20 wide: rows of 20 and 60 weights, where nf4 blocks and packed kernels take 64."""
    _, _, inputs, _ = world
    odd = build_tiny_model(ModelConfig(n_layer=1, n_embd=20, n_head=2, max_length=64),
                           inputs.tokenizer, 0).eval()
    res = ATTACKS["quantize"](odd, replace(inputs, forget=inputs.forget[:1], max_new_tokens=4))
    assert res.summary["attack_quantize_rouge"] is not None
    assert (res.summary["attack_quantize_int8_rouge"] is not None) == INT8_ON_CPU


def test_quantize_is_an_attack_name_and_others_are_still_refused():
    assert load_config(None, ["eval.attacks=[quantize]"]).eval.attacks == ["quantize"]
    for bad in ("eval.attacks=[quantise]", "eval.attacks=[quantize,quantize]"):
        with pytest.raises(ConfigError, match="eval.attacks"):
            load_config(None, [bad])


def test_the_robustness_table_shows_the_4bit_headline_and_the_details():
    from dareu.report.document import to_markdown
    from dareu.stages import report

    run = SimpleNamespace(cfg=load_config(None, ["eval.attacks=[sampling,quantize]"]))
    assert ("attack_quantize_rouge", "4-bit quantized (nf4)") in report._attack_columns(run)
    models = {"oracle": {"forget_rouge": 0.1, "attack_quantize_rouge": 0.12},
              "target": {"forget_rouge": 0.9, "attack_quantize_rouge": 0.9},
              "a": {"forget_rouge": 0.1, "attack_quantize_rouge": 0.8},
              "b": {"forget_rouge": 0.2, "attack_quantize_rouge": 0.2,
                    "attack_quantize_rouge_before": 0.2, "attack_quantize_int8_rouge": 0.3}}
    md = to_markdown(report._robustness(run, models))
    assert "| 4-bit quantized (nf4) |" in md and "quantize: 8-bit ROUGE" in md
    assert "| b | 0.200 | — | **0.200** |" in md  # closest to the oracle under the attack
