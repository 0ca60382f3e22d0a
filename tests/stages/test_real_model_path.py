"""The real-model path on CPU: recipes/tofu_qlora_1gpu.yaml with overrides only for size, device
and oracle — tiny Llama-shaped local folders for target and base, TOFU forget01 with two retain
authors, QLoRA end to end. The oracle is finetuned from the base with the pretrained-base
(LLM) settings (model.oracle_path=null instead of the recipe's published retain model), and
evaluation loads models in 4-bit as unlearning does."""

from __future__ import annotations

import csv
import json

import pytest

from dareu.cli import main
from dareu.config import load_config
from tests.conftest import REPO

RECIPE = REPO / "recipes" / "tofu_qlora_1gpu.yaml"
CHAT = "{% for m in messages %}Question: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}Answer:{% endif %}"


@pytest.fixture(scope="module")
def llama_folders(tmp_path_factory, tofu_dir):
    """`base` and `target`: a tiny Llama with a tokenizer (chat template included) trained on the
    run's TOFU texts, saved as a user's own model folders are."""
    from dareu.data import build_corpus
    from dareu.models import build_tiny_model, train_tokenizer

    cfg = load_config(None, ["data.source=tofu", f"data.path={tofu_dir}", "data.tofu_split=forget01",
                             "data.max_retain_owners=2", "model.arch=llama", "model.n_layer=1",
                             "model.n_embd=64", "model.n_head=2", "model.vocab_size=512"])
    tok = train_tokenizer(build_corpus(cfg.data, 0).all_texts(), cfg.model.vocab_size)
    tok.chat_template = CHAT
    root = tmp_path_factory.mktemp("models")
    for name, seed in (("base", 0), ("target", 1)):
        build_tiny_model(cfg.model, tok, seed).save_pretrained(root / name, safe_serialization=True)
        tok.save_pretrained(root / name)
    return root


@pytest.mark.slow
def test_qlora_recipe_runs_end_to_end_on_cpu(llama_folders, tofu_dir, tmp_path):
    out = tmp_path / "run"
    size_and_device = [
        f"data.path={tofu_dir}", "data.tofu_split=forget01", "data.max_retain_owners=2",
        f"model.path={llama_folders / 'target'}", f"model.base_path={llama_folders / 'base'}",
        "model.oracle_path=null",
        "model.max_length=64", "model.lora_r=4", "model.lora_alpha=8",
        "trainer.accelerator=cpu", "trainer.precision=32-true", "trainer.enable_progress_bar=false",
        "unlearn.steps=2", "unlearn.sampling.prompts_per_step=2", "unlearn.sampling.group_size=2",
        "unlearn.sampling.max_new_tokens=6", "unlearn.retain.batch_size=2", "unlearn.baselines.forget_batch_size=2",
        "unlearn.baselines.retain_batch_size=2", "eval.max_items=3", "eval.max_new_tokens=6",
        "eval.batch_size=8", "eval.metrics=[fluency, attribution]",
        "attributor.options={n_layer: 1, n_embd: 32, n_head: 2, epochs: 1}",
        f"run.output_dir={out}", "run.threads=1"]
    assert main(["run", str(RECIPE), *size_and_device]) == 0

    cfg = load_config(RECIPE, size_and_device)
    assert (cfg.model.mode, cfg.finetune.mode, cfg.finetune.epochs, cfg.finetune.lr) == ("qlora", "qlora", 5, 1e-4)
    oracle = json.loads((out / "stages" / "oracle.json").read_text())["result"]
    retain = 2 * 20  # two TOFU authors of 20 QA; a pretrained base is not trained on test sets
    assert oracle["records"] == retain and (oracle["mode"], oracle["epochs"], oracle["lr"]) == ("qlora", 5, 1e-4)
    assert oracle["optimizer_steps"] == 5 * -(-retain // 16)  # 5 epochs at batch 16, not 40 at 32
    assert list(csv.DictReader(open(out / "logs" / "oracle" / "metrics.csv")))
    assert not (out / "target").exists()  # the user's target is used as it is
    assert (out / "oracle" / "config.json").is_file()  # merged from the base + LoRA finetune
    for method in ("dareu", "npo"):
        assert (out / "methods" / method / "adapter" / "adapter_config.json").is_file()
    summary = json.loads((out / "summary.json").read_text())["models"]
    assert {"oracle", "target", "dareu", "npo"} <= set(summary)
    assert all(summary[m]["forget_rouge"] is not None for m in ("oracle", "target", "dareu", "npo"))
    assert (out / "report.md").is_file()

    from dareu.pipeline import Run
    from dareu.stages.objects import load_for_eval

    judge = load_for_eval(Run(cfg), out / "oracle")
    assert getattr(judge, "is_loaded_in_4bit", False)  # evaluation and the judge fit where QLoRA fits
    dareu = load_for_eval(Run(cfg), out / "methods" / "dareu")
    assert getattr(dareu.get_base_model(), "is_loaded_in_4bit", False)  # adapter on the 4-bit target
