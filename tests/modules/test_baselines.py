"""The loss-based baselines on a tiny GPT-2 (1 layer × 32 dims) that has memorised a tiny corpus:
a few real Lightning steps each, in full, LoRA and 4-bit QLoRA mode."""

import math

import pytest
import torch

from dareu.config import load_config
from dareu.data.formatting import IGNORE
from dareu.data.synthetic import synthetic_corpus
from dareu.errors import ConfigError
from dareu.models import build_tiny_model, save_model, train_tokenizer
from dareu.modules.baselines import BASELINES, LossUnlearnMethod, load_idk_answers
from dareu.data.formatting import encode_pair
from dareu.modules.baselines.data import role_loader
from dareu.modules.baselines.losses import nll_loss
from dareu.modules.policy import Policy
from dareu.modules.registry import available_methods, get_method
from dareu.pipeline import Run
from dareu.trainer import make_trainer

TINY = ["model.n_layer=1", "model.n_embd=32", "model.n_head=2", "model.max_length=64",
        "unlearn.lr=1e-2", "unlearn.baselines.forget_batch_size=4", "unlearn.baselines.retain_batch_size=4",
        "trainer.accelerator=cpu", "trainer.devices=1", "trainer.enable_progress_bar=false"]
STEPS = 6


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A corpus, its tokenizer, and a target folder: a tiny model that memorised every record."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 32-dim model gains nothing from threads, and loses a lot on a busy box
    corpus = synthetic_corpus(num_owners=4, qa_per_owner=3, num_holdout_owners=1, num_test_questions=4)
    tok = train_tokenizer(corpus.all_texts(), 300)
    run = make_run(corpus, tok, tmp_path_factory.mktemp("run"))
    model = build_tiny_model(run.cfg.model, tok, seed=0)
    rows = [{"r": encode_pair(tok, run.prompt_text(r.prompt), r.response, run.cfg.model.max_length)}
            for r in corpus.records]
    batch = next(iter(role_loader(rows, tok.pad_token_id, len(corpus.records), seed=0)))["r"]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    for _ in range(80):
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad()
    target = tmp_path_factory.mktemp("target")
    save_model(model, tok, target)
    yield corpus, tok, target
    torch.set_num_threads(threads)


def make_run(corpus, tok, out, *overrides):
    run = Run(load_config(None, [*TINY, f"run.output_dir={out}", *overrides]))
    run.__dict__["corpus"], run.__dict__["tokenizer"] = corpus, tok
    return run


def make_method(world, tmp_path, name, mode="full", *overrides) -> LossUnlearnMethod:
    corpus, tok, target = world
    run = make_run(corpus, tok, tmp_path, f"model.mode={mode}", *overrides)
    policy = Policy.from_pretrained(target, tok, run.cfg.model, mode)
    return get_method(name)(policy, corpus.forget, corpus.retain, run.cfg)


def forget_nll(method: LossUnlearnMethod, reference: bool = False) -> float:
    """Mean token NLL of every forget answer under the policy (or its reference)."""
    b = next(iter(role_loader(method.forget_items(), method.policy.tokenizer.pad_token_id, 100, 0)))["forget"]
    with torch.no_grad():
        if reference:
            logps = method.policy.token_logprobs(b["input_ids"], b["attention_mask"], reference=True)
            return nll_loss(logps, b["labels"][:, 1:] != IGNORE).item()
        s = method.score(b, reference=False)
        return nll_loss(s.logps, s.mask).item()


def fit(method: LossUnlearnMethod, steps: int = STEPS) -> dict[str, float]:
    trainer = make_trainer(method.cfg.trainer, method.cfg.output_dir, "logs", max_steps=steps, logger=False)
    trainer.fit(method)
    assert trainer.global_step == steps
    return {k: v.item() for k, v in trainer.logged_metrics.items()}


# -- registry -------------------------------------------------------------------------------------

def test_every_baseline_resolves_by_name():
    for name in BASELINES:
        cls = get_method(name)
        assert issubclass(cls, LossUnlearnMethod) and cls.method_name == name
    assert set(BASELINES) <= set(available_methods())


def test_an_unknown_method_lists_the_valid_names():
    with pytest.raises(ConfigError, match="unknown method 'npoo'.*grad_diff.*simnpo"):
        get_method("npoo")


def test_the_method_class_decides_its_step_count():
    """unlearn.baselines.steps counts for the loss baselines only; null: unlearn.steps."""
    u = load_config(None, ["unlearn.steps=5", "unlearn.baselines.steps=3"]).unlearn
    assert [u.steps_of(get_method(m)) for m in ("npo", "grad_ascent", "dareu")] == [3, 3, 5]
    u = load_config(None, ["unlearn.steps=5"]).unlearn
    assert [u.steps_of(get_method(m)) for m in ("npo", "dareu")] == [5, 5]


# -- training: every method forgets, in full mode -------------------------------------------------

@pytest.mark.parametrize("name", BASELINES)
def test_method_raises_the_forget_nll(world, tmp_path, name):
    method = make_method(world, tmp_path, name)
    before = forget_nll(method)
    logged = fit(method)
    after = forget_nll(method)
    assert {"train_loss", "forget_nll", "retain_nll"} <= set(logged)
    assert all(math.isfinite(v) for v in logged.values()), logged
    assert after > before + 0.1, (name, before, after)


def test_npo_starts_at_2_over_beta_log_2_plus_the_retain_nll(world, tmp_path):
    method = make_method(world, tmp_path, "npo", "full", "unlearn.baselines.npo_beta=0.5")
    batch, _, _ = next(iter(method.train_dataloader()))
    out = method._common_step(batch)
    r = out["retain"]
    expected = 2 / 0.5 * math.log(2) + nll_loss(r.logps, r.mask).item()
    assert method.loss(out).item() == pytest.approx(expected, rel=1e-5)


# -- LoRA and 4-bit QLoRA ---------------------------------------------------------------------

def test_npo_in_lora_trains_only_the_adapters(world, tmp_path):
    method = make_method(world, tmp_path, "npo", "lora")
    base = {k: v.clone() for k, v in method.policy.model.named_parameters() if "lora_" not in k}
    before = forget_nll(method)
    fit(method)
    assert forget_nll(method) > before + 0.1
    # the reference is the same network with adapters disabled: untouched base weights
    assert all(torch.equal(v, dict(method.policy.model.named_parameters())[k]) for k, v in base.items())
    assert forget_nll(method, reference=True) == pytest.approx(before, rel=1e-5)


def test_kl_in_qlora_on_a_4bit_base(world, tmp_path):
    pytest.importorskip("bitsandbytes")
    method = make_method(world, tmp_path, "kl", "qlora")
    assert getattr(method.policy.model.get_base_model(), "is_loaded_in_4bit", False)
    before = forget_nll(method)
    logged = fit(method)
    assert all(math.isfinite(v) for v in logged.values()), logged
    assert forget_nll(method) > before + 0.1


# -- data and plumbing --------------------------------------------------------------------------

def test_train_batches_hold_forget_and_retain_answers(world, tmp_path):
    method = make_method(world, tmp_path, "grad_diff", "full", "unlearn.baselines.retain_batch_size=2")
    loader = method.train_dataloader()
    steps = 0
    for batch, _, _ in loader:
        f, r = batch["forget"]["forget"], batch["retain"]["retain"]
        assert f["input_ids"].shape[0] <= 4 and r["input_ids"].shape[0] <= 2
        assert (f["labels"][:, 0] == IGNORE).all()  # the loss never covers the prompt
        steps += 1
    assert steps == 3  # 6 retain records / 2 per batch; the 6 forget records cycle meanwhile


def test_idkpo_pairs_each_forget_prompt_with_a_seeded_idk_answer(world, tmp_path):
    corpus, _, _ = world
    method = make_method(world, tmp_path, "idkpo")
    items, answers = method.forget_items(), load_idk_answers()
    assert len(items) == len(corpus.forget)
    chosen = []
    for item, rec in zip(items, corpus.forget):
        assert item["forget"] == method.encode(rec)  # rejected: the true answer
        chosen += [a for a in answers if item["idk"] == method.encode(rec, a)]  # same prompt
    assert len(chosen) == len(items) and len(set(chosen)) > 1
    assert items == make_method(world, tmp_path, "idkpo").forget_items()  # same seed, same answers


def test_idk_answers_file_override(tmp_path):
    f = tmp_path / "idk.txt"
    f.write_text("No clue.\n\n  Ask someone else.  \n")
    assert load_idk_answers(str(f)) == ["No clue.", "Ask someone else."]
    assert len(load_idk_answers()) >= 30
    with pytest.raises(ConfigError, match="no such file"):
        load_idk_answers(str(tmp_path / "missing.txt"))


def test_baselines_lr_overrides_the_unlearn_lr(world, tmp_path):
    method = make_method(world, tmp_path, "simnpo", "full", "unlearn.baselines.lr=3e-5",
                         "unlearn.baselines.weight_decay=0.01")
    group = method.configure_optimizers().param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (3e-5, 0.01)


def test_a_non_finite_loss_stops_training(world, tmp_path, monkeypatch):
    method = make_method(world, tmp_path, "grad_diff")
    monkeypatch.setattr(type(method), "loss", lambda self, out: torch.tensor(float("nan")))
    with pytest.raises(FloatingPointError, match="grad_diff: non-finite loss"):
        fit(method, steps=1)
