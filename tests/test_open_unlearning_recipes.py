"""The TOFU recipes users compare with open-unlearning run on its published models: the target is
its full TOFU finetune, the oracle its retain model of the recipe's split, so no stage finetunes
either and ToW measures against the model open-unlearning scores forget quality against. The
prompt is open-unlearning's for that model, with one BOS as in its training."""

from __future__ import annotations

from pathlib import Path

import pytest

from dareu.cli import main
from dareu.config import load_config

RECIPES = Path(__file__).parents[1] / "recipes"
# recipe -> the model name in open-unlearning's hub ids (open-unlearning/tofu_<name>_<split>)
PUBLISHED = {"tofu_llama32_1b.yaml": "Llama-3.2-1B-Instruct",
             "tofu_qlora_1gpu.yaml": "Llama-2-7b-chat-hf"}
RETAIN = {"forget01": "retain99", "forget05": "retain95", "forget10": "retain90"}


@pytest.mark.parametrize("name", PUBLISHED)
def test_target_and_oracle_are_open_unlearnings_models_of_the_split(name):
    cfg = load_config(RECIPES / name)
    published = PUBLISHED[name]
    assert cfg.model.path == f"open-unlearning/tofu_{published}_full"
    retain = RETAIN[cfg.data.tofu_split]  # the oracle open-unlearning scores this split against
    assert cfg.model.oracle_path == f"open-unlearning/tofu_{published}_{retain}"
    assert cfg.model.base_path is None  # nothing is finetuned, so no base is downloaded
    assert (cfg.data.source, cfg.data.path) == ("tofu", "locuslab/TOFU")
    assert cfg.eval.max_new_tokens == 200  # open-unlearning's answer length
    assert cfg.unlearn.lr == 1e-3 and cfg.model.mode in ("lora", "qlora")  # adapters on one GPU


@pytest.fixture(scope="module")
def published_folders(tmp_path_factory) -> Path:
    """Tiny Llama folders standing in for the hub's full and retain models: the plan reads their
    config.json and checks their weights without the network."""
    from transformers import LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("published")
    conf = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=2, vocab_size=64)
    for split in ("full", "retain90"):
        LlamaForCausalLM(conf).save_pretrained(root / split, safe_serialization=True)
    return root


def _plan(capsys, recipe: Path, *overrides: str) -> dict[str, str]:
    assert main(["plan", str(recipe), *overrides, "--tflops", "100", "--gbps", "2000"]) == 0
    return {line.split("  ")[0]: line for line in capsys.readouterr().out.splitlines()}


@pytest.mark.parametrize("name", PUBLISHED)
def test_plan_finetunes_neither_target_nor_oracle(name, published_folders, tmp_path, capsys,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = f"run.output_dir={tmp_path / 'run'}"
    # as shipped: hub ids, sized from the name (a plan never downloads)
    lines = _plan(capsys, RECIPES / name, out)
    hub = f"open-unlearning/tofu_{PUBLISHED[name]}"
    assert lines["prepare: oracle"].endswith(f"skipped: model.oracle_path = {hub}_retain90")
    assert lines["prepare: target"].endswith(f"skipped: model.path = {hub}_full")
    # the same recipe on local folders: sized from their config.json, still nothing finetuned
    full, retain = published_folders / "full", published_folders / "retain90"
    lines = _plan(capsys, RECIPES / name, out, f"model.path={full}", f"model.oracle_path={retain}")
    assert lines["prepare: oracle"].endswith(f"skipped: model.oracle_path = {retain}")
    assert lines["prepare: target"].endswith(f"skipped: model.path = {full}")
    assert any(f"config.json of model.path {full}" in line for line in lines.values())
    # no other prepare step: no base to pretrain, nothing trained before unlearning
    assert [k for k in lines if k.startswith("prepare:")] == \
        ["prepare: target", "prepare: oracle", "prepare: ROUGE of target and oracle"]
    assert not (tmp_path / "run").exists()


def test_prepare_uses_the_given_oracle(published_folders, tofu_dir, tmp_path, monkeypatch):
    """The prepare stage skips both finetunes and points the run at the given folders."""
    import dareu.stages.prepare as prepare
    from dareu.pipeline import Run

    trained = []
    monkeypatch.setattr(prepare, "_finetune", lambda run, name, *a, **k: trained.append(name))
    monkeypatch.setattr(prepare, "_evaluate_rouge", lambda run: {})  # no tokenizer in the folders
    full, retain = published_folders / "full", published_folders / "retain90"
    cfg = load_config(RECIPES / "tofu_llama32_1b.yaml",
                      [f"data.path={tofu_dir}", f"model.path={full}", f"model.oracle_path={retain}",
                       "trainer.accelerator=cpu", f"run.output_dir={tmp_path / 'run'}"])
    run = Run(cfg)
    prepare.prepare(run)
    assert trained == []
    assert (run.target_dir, run.oracle_dir) == (full, retain)
    assert not (run.marker("oracle").exists() or run.marker("target").exists())


def test_a_prompt_that_writes_its_bos_gets_no_second_one():
    """The 1B recipe's template opens with Llama-3's BOS, as open-unlearning's prompt does, and
    Llama's chat templates write one too; the model saw one BOS in training, never two."""
    from dareu.data.formatting import encode_prompt, format_prompt
    from dareu.models import train_tokenizer

    tok = train_tokenizer(["Question: Who wrote it?", "Answer: Ada did."] * 10, vocab_size=300)
    tok.add_bos_token = True  # as Llama's tokenizers ask for one
    bos = tok.bos_token_id
    plain = encode_prompt(tok, format_prompt("Who wrote it?", tok, "Question: {prompt}\nAnswer:"))
    written = encode_prompt(tok, format_prompt("Who wrote it?", tok,
                                               tok.bos_token + "Question: {prompt}\nAnswer:"))
    assert plain[0] == bos and plain[1] != bos
    assert written == plain  # the BOS the template wrote, and no other
