"""Index of bad inputs: each goes through the CLI and must exit 2 with a message naming the
problem, leaving nothing in the run directory. Cases tested elsewhere in depth:
tests/test_config.py (recipe parsing), tests/data/test_files.py (corpus files),
tests/test_models.py (model folders)."""

from __future__ import annotations

import errno
import json
import os
import tempfile

import pytest
import torch

from dareu.cli import main

TINY = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1", "model.n_layer=1",
        "model.n_embd=32", "model.n_head=2", "model.vocab_size=400", "model.max_length=64",
        "finetune.epochs=1", "trainer.accelerator=cpu", "trainer.devices=1",
        "trainer.enable_progress_bar=false", "eval.metrics=[]"]


def rows(owners=("a", "b", "c"), n=3, drop=None):
    out = [{"owner": o, "prompt": f"Q{i} about {o}?", "response": f"A{i} of {o}."}
           for o in owners for i in range(n)]
    return [{k: v for k, v in r.items() if k != drop} for r in out]


def jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def model_folder(path, config="{}", weights=b"not a safetensors file", name="model.safetensors"):
    path.mkdir()
    (path / "config.json").write_text(config)
    (path / name).write_bytes(weights)
    return path


def _case(name, tmp):
    """(recipe text or None, overrides, words the message must contain) for one case."""
    files = ["data.source=files", f"data.path={tmp / 'c.jsonl'}"]
    if name == "malformed_yaml":
        return "data: [unclosed\n", [], ["not valid YAML"]
    if name == "unknown_key":
        return None, ["data.nonsense=1"], ["nonsense"]
    if name == "wrong_type":
        return None, ["unlearn.steps=many"], ["unlearn.steps"]
    if name == "negative_size":
        return None, ["unlearn.steps=-3"], ["unlearn.steps"]
    if name == "zero_size":
        return None, ["unlearn.sampling.prompts_per_step=0"], ["unlearn.sampling.prompts_per_step"]
    if name == "forget_owner_not_in_corpus":
        jsonl(tmp / "c.jsonl", rows())
        return None, files + ["data.forget_owners=[zed]"], ["zed"]
    if name == "empty_data_file":
        (tmp / "c.jsonl").write_text("")
        return None, files, ["c.jsonl"]
    if name == "record_missing_field":
        jsonl(tmp / "c.jsonl", rows(drop="response"))
        return None, files, ["response"]
    if name == "corrupt_model_folder":
        model_folder(tmp / "m", config="{oops")
        return None, [f"model.path={tmp / 'm'}", f"model.oracle_path={tmp / 'm'}"], [str(tmp / "m")]
    if name == "model_folder_without_weights":
        (tmp / "m").mkdir()
        (tmp / "m" / "config.json").write_text("{}")
        return None, [f"model.path={tmp / 'm'}", f"model.oracle_path={tmp / 'm'}"], ["weight"]
    if name == "pickle_checkpoint":
        model_folder(tmp / "m", name="pytorch_model.bin")
        return None, [f"model.path={tmp / 'm'}", f"model.oracle_path={tmp / 'm'}"], ["pickle", "allow_pickle"]
    if name == "cuda_without_gpu":
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        return None, ["trainer.accelerator=gpu"], ["CUDA"]
    if name == "fsdp_with_qlora":
        return None, ["trainer.strategy=fsdp", "model.mode=qlora"], ["FSDP", "bitsandbytes"]
    if name == "deepspeed_with_qlora":
        return None, ["trainer.strategy=deepspeed", "model.mode=qlora"], ["DeepSpeed", ".to()"]
    if name == "fsdp_with_dareu_generate":
        return None, ["trainer.strategy=fsdp", "unlearn.methods=[dareu]"], ["fsdp2", "ddp"]
    if name == "fsdp2_with_qlora":  # `dareu unlearn`: the stage that trains in model.mode
        return None, ["trainer.strategy=fsdp2", "model.mode=qlora"], ["fsdp2", "4-bit", "model.mode"]
    if name == "fsdp2_with_merged_adapters":
        return None, ["trainer.strategy=fsdp2", "model.merge_adapters=true"], ["merge_adapters"]
    raise AssertionError(name)


CASES = ["malformed_yaml", "unknown_key", "wrong_type", "negative_size", "zero_size",
         "forget_owner_not_in_corpus", "empty_data_file", "record_missing_field",
         "corrupt_model_folder", "model_folder_without_weights", "pickle_checkpoint",
         "cuda_without_gpu", "fsdp_with_qlora", "deepspeed_with_qlora", "fsdp_with_dareu_generate",
         "fsdp2_with_qlora", "fsdp2_with_merged_adapters"]
COMMAND = {"fsdp2_with_qlora": "unlearn", "fsdp2_with_merged_adapters": "unlearn"}  # else prepare


@pytest.mark.parametrize("name", CASES)
def test_bad_input_exits_2_naming_the_problem(name, tmp_path, capsys):
    out = tmp_path / "run"
    recipe_text, overrides, words = _case(name, tmp_path)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(recipe_text or "{}\n")
    overrides = [o for o in TINY if o.split("=")[0] not in {x.split("=")[0] for x in overrides}] + overrides
    code = main([COMMAND.get(name, "prepare"), str(recipe), *overrides, f"run.output_dir={out}"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "dareu: error:" in err and "Traceback" not in err
    for w in words:
        assert w.lower() in err.lower(), (w, err)
    leftovers = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not leftovers, f"partial outputs left behind: {leftovers}"


def test_tokenizer_without_pad_token_gets_eos():
    from transformers import PreTrainedTokenizerFast

    from dareu.models import ensure_pad_token, train_tokenizer

    tok = train_tokenizer(["some words to learn a vocabulary from"] * 4, 300)
    plain = PreTrainedTokenizerFast(tokenizer_object=tok.backend_tokenizer, eos_token="<|eos|>")
    assert plain.pad_token is None
    assert ensure_pad_token(plain).pad_token == "<|eos|>"


def test_qlora_without_bitsandbytes(monkeypatch):
    import builtins

    from dareu.config import ModelConfig
    from dareu.errors import EnvironmentProblem
    from dareu.models import quantization_config

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "bitsandbytes" or name.startswith("bitsandbytes."):
            raise ImportError("no bitsandbytes")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(EnvironmentProblem, match="bitsandbytes") as e:
        quantization_config(ModelConfig(mode="qlora"))
    assert e.value.exit_code == 2


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS], ids=["disk_full", "read_only"])
def test_unwritable_output_is_an_environment_problem(code, tmp_path, monkeypatch, capsys):
    """chmod 0o500 does not stop root (tests often run as root): simulate the OS refusing writes."""
    def refuse(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "replace", refuse)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    from dareu.errors import EnvironmentProblem
    from dareu.io import atomic_dir, atomic_write_json

    with pytest.raises(EnvironmentProblem, match=os.strerror(code)) as e:
        atomic_write_json(tmp_path / "run" / "summary.json", {"a": 1})
    assert e.value.exit_code == 2
    with pytest.raises(EnvironmentProblem):
        with atomic_dir(tmp_path / "run" / "model"):
            pass
    assert not list((tmp_path / "run").glob("*.json"))
    assert not list((tmp_path / "run").glob(".*"))


def test_attributor_fitted_on_other_owners_is_refused(tmp_path):
    from attributors.base import Attributor, AttributorError, register_attributor
    from dareu.config import load_config
    from dareu.pipeline import Run
    from dareu.stages.objects import reward as run_reward

    @register_attributor("owners_probe")
    class Probe(Attributor):
        def fit(self, corpus):
            self.owners = list(corpus.owners)
            return self

        def score(self, prompts, responses):
            return torch.full((len(responses), len(self.owners)), 1.0 / len(self.owners))

    run = Run(load_config(None, TINY + [f"run.output_dir={tmp_path}"]))
    probe = Probe()
    probe.owners = run.corpus.owners[:-1] + ["someone else"]
    probe.save(run.attributor_dir)
    with pytest.raises(AttributorError, match="different owners.*someone else"):
        run_reward(run)
    probe.owners = list(run.corpus.owners)
    probe.save(run.attributor_dir)
    assert run_reward(run).forget_owners == run.corpus.forget_owners
