"""finetune.pretrain_owners: a tiny base pretrained on spare owners, target and oracle from it."""

import pytest
from transformers import AutoModelForCausalLM

from dareu.config import load_config
from dareu.data.synthetic import synthetic_corpus
from dareu.data.tofu import tofu_corpus
from dareu.errors import ConfigError, DataError
from dareu.pipeline import Run
from dareu.plan import plan_steps
from dareu.stages import prepare as prepare_mod

# 8 owners: 1 forget, 3 retain (max_retain_owners), 4 spare
SMALL = ["data.num_owners=8", "data.qa_per_owner=4", "data.num_holdout_owners=1",
         "data.num_test_questions=4", "data.max_retain_owners=3", "model.n_layer=1",
         "model.n_embd=32", "model.n_head=2", "model.vocab_size=400", "model.max_length=64",
         "finetune.epochs=2", "finetune.pretrain_epochs=3", "finetune.batch_size=8",
         "trainer.accelerator=cpu", "trainer.devices=1", "trainer.enable_progress_bar=false",
         "eval.max_new_tokens=8", "eval.max_items=4", "run.threads=1"]


def test_spare_owners_are_never_forget_or_retain_owners():
    c = synthetic_corpus(num_owners=8, num_forget_owners=1, max_retain_owners=3, seed=0)
    spare = c.spare_owners()
    assert len(spare) == 4 and not set(spare) & set(c.owners)
    assert {r.owner for r in c.pretraining(2)} == set(spare[:2])
    with pytest.raises(DataError, match="finetune.pretrain_owners=5.*only 4 spare owners"):
        c.pretraining(5)


def test_tofu_spare_owners_are_the_authors_max_retain_owners_drops(tofu):
    c = tofu_corpus(str(tofu.path), "forget01", max_retain_owners=4)
    assert len(c.spare_owners()) == tofu.shape.authors - 2 - 4
    assert not set(c.spare_owners()) & set(c.owners)
    assert len(c.pretraining(5)) == 5 * 20


def test_pretraining_needs_a_from_scratch_run():
    with pytest.raises(ConfigError, match="finetune.pretrain_owners"):
        load_config(None, ["finetune.pretrain_owners=2", "model.base_path=/some/model"])
    with pytest.raises(ConfigError, match="finetune.pretrain_owners"):
        load_config(None, ["finetune.pretrain_owners=-1"])
    cfg = load_config(None, ["finetune.pretrain_owners=2", "finetune.epochs=7"])
    assert cfg.finetune.pretrain_epochs == 7  # null: finetune.epochs
    with pytest.raises(ConfigError, match="finetune.pretrain_name_swaps.*pretrain_owners"):
        load_config(None, ["finetune.pretrain_name_swaps=1"])
    with pytest.raises(ConfigError, match="finetune.pretrain_name_swaps"):
        load_config(None, ["finetune.pretrain_owners=2", "finetune.pretrain_name_swaps=-1"])


def test_name_swaps_add_renamed_copies_to_the_base_only(tmp_path, monkeypatch):
    cfg = load_config(None, SMALL + ["finetune.pretrain_owners=2", "finetune.pretrain_name_swaps=2",
                                     f"run.output_dir={tmp_path}"])
    fed = {}
    monkeypatch.setattr(prepare_mod, "_finetune",
                        lambda r, name, records, pretraining=False: fed.setdefault(name, records) and {})
    monkeypatch.setattr(prepare_mod, "_evaluate_rouge", lambda r: {})
    run = Run(cfg)
    prepare_mod.prepare(run)
    spare = run.corpus.pretraining(2)
    extra = len(run.corpus.test)
    assert len(fed["base"]) == 3 * len(spare) + extra
    swapped = [r for r in fed["base"] if "-swap" in r.id]
    assert len(swapped) == 2 * len(spare)
    original_prompts = {r.prompt for r in spare}
    assert sum(r.prompt not in original_prompts for r in swapped) > len(swapped) // 2  # renamed
    assert not any("-swap" in r.id for r in fed["target"] + fed["oracle"])


def test_plan_lists_the_pretraining(tmp_path):
    from dareu.plan import Cost, data_size, model_shape

    cfg = load_config(None, SMALL + ["finetune.pretrain_owners=2", f"run.output_dir={tmp_path}"])
    shape = model_shape(cfg, None)
    steps = plan_steps(cfg, 1, Cost(shape, cfg, 1e11, 1e10, "cpu"), data_size(cfg), shape)
    base = [s for s in steps if s.stage == "prepare: base"]
    assert base and "2 spare owners (8 QA" in base[0].what, [s.stage for s in steps]
    assert any(s.stage == "prepare: target" and "base" in s.what for s in steps)
    cfg = load_config(None, SMALL + ["finetune.pretrain_owners=2", "finetune.pretrain_name_swaps=1",
                                     f"run.output_dir={tmp_path}"])
    swapped = plan_steps(cfg, 1, Cost(shape, cfg, 1e11, 1e10, "cpu"), data_size(cfg), shape)
    assert "8 QA + 1 renamed copy" in swapped[0].what
    assert swapped[0].seconds > base[0].seconds  # twice the pretraining records


def test_target_and_oracle_start_from_the_base(tmp_path, monkeypatch):
    cfg = load_config(None, SMALL + ["finetune.pretrain_owners=2", f"run.output_dir={tmp_path}"])
    run = Run(cfg)
    seen = {}
    real = prepare_mod._finetune

    def spy(run, name, records, pretraining=False):
        seen[name] = ({r.owner for r in records}, pretraining, run.base_dir)
        return real(run, name, records, pretraining)

    monkeypatch.setattr(prepare_mod, "_finetune", spy)
    prepare_mod.prepare(run)
    spare = set(run.corpus.spare_owners()[:2])
    owners_of_base, pretraining, _ = seen["base"]
    assert pretraining and spare <= owners_of_base
    assert not owners_of_base & set(run.corpus.owners)  # never a forget or retain owner
    assert seen["target"][1] is False and seen["target"][2] == tmp_path / "base"
    assert (tmp_path / "base" / "model.safetensors").is_file()
    # the target really starts from the base: same architecture, weights moved by finetuning only
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    target = AutoModelForCausalLM.from_pretrained(tmp_path / "target")
    assert base.config.n_embd == target.config.n_embd
    # a changed pretraining reruns the base and, through its hash, target and oracle
    calls = []
    monkeypatch.setattr(prepare_mod, "_finetune", lambda r, name, *a, **k: calls.append(name) or {})
    monkeypatch.setattr(prepare_mod, "_evaluate_rouge", lambda r: {})
    prepare_mod.prepare(Run(cfg))
    assert calls == []
    cfg2 = load_config(None, SMALL + ["finetune.pretrain_owners=2", "finetune.pretrain_epochs=4",
                                      f"run.output_dir={tmp_path}"])
    prepare_mod.prepare(Run(cfg2))
    assert calls == ["base", "target", "oracle"]


class _NoMass:
    """A reward that attributes nothing (the test is about the fluency judge, not attribution)."""

    def forget_mass(self, prompts, responses):
        import torch

        return torch.zeros(len(responses))

    def rewards(self, prompts, responses):
        return -self.forget_mass(prompts, responses)


def test_fluency_judge_base_judges_under_the_pretrained_base(tmp_path, monkeypatch):
    import torch
    from safetensors.torch import load_file

    from dareu.modules.dareu import DareUModule
    from dareu.stages import objects
    from dareu.stages import unlearn as unlearn_mod

    over = SMALL + ["finetune.pretrain_owners=2", f"run.output_dir={tmp_path}",
                    "unlearn.methods=[dareu]", "unlearn.steps=1", "unlearn.objective.epochs=1",
                    "unlearn.sampling.prompts_per_step=2", "unlearn.sampling.group_size=2", "unlearn.sampling.max_new_tokens=6"]
    prepare_mod.prepare(Run(load_config(None, over)))
    monkeypatch.setattr(objects, "reward", lambda run, *a, **k: _NoMass())
    judges = []
    real = DareUModule.set_fluency_judge
    monkeypatch.setattr(DareUModule, "set_fluency_judge",
                        lambda self, judge: judges.append(judge) or real(self, judge))
    run = Run(load_config(None, over + ["unlearn.reward.fluency.judge=base"]))
    unlearn_mod.unlearn(run)
    assert len(judges) == 1
    base = load_file(tmp_path / "base" / "model.safetensors")
    wte = judges[0].get_input_embeddings().weight
    assert torch.equal(wte.detach().cpu(), base["transformer.wte.weight"])  # the base, not the target
    # the judge is part of the reward: the default (reference) run is another stage
    plain = Run(load_config(None, over))
    assert (unlearn_mod.stage_key(plain, "dareu", True) != unlearn_mod.stage_key(run, "dareu", True))
