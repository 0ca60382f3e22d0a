"""`dareu plan` and the commands refuse the same strategy / mode combinations with the same
message, before any stage runs, whether or not this machine has CUDA (`check_strategy` in
dareu/preflight.py); under fsdp2 a refusal names the stage that cannot run and how to run the
stages one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dareu.cli import main
from dareu.config import load_config
from dareu.errors import ConfigError
from dareu.modules.registry import UnlearnMethod
from dareu.preflight import check_strategy

RECIPES = Path(__file__).parents[1] / "recipes"
TINY = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1", "model.n_layer=1",
        "model.n_embd=32", "model.n_head=2", "model.vocab_size=400", "model.max_length=64",
        "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "eval.metrics=[]"]
FSDP2 = ["trainer.strategy=fsdp2", "trainer.devices=1"]  # one process: a refusal that regressed
# would run in this one, not relaunch pytest as a second rank
# a classifier attributor on a 4-bit backbone: fit-attributor cannot run under fsdp2
FOUR_BIT_CLASSIFIER = "attributor.options={backbone: org/classifier, mode: qlora}"


class Unshardable(UnlearnMethod):
    """A method of the user's without `configure_model`: nothing shards it under fsdp2."""


def _error(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("accelerator", [[], ["trainer.accelerator=cpu"]])
def test_plan_refuses_fsdp2_with_qlora_as_the_run_does(tmp_path, capsys, monkeypatch, accelerator):
    """The recipe asks for a GPU, which this machine may lack: the strategy is refused anyway."""
    monkeypatch.chdir(tmp_path)
    args = [str(RECIPES / "tofu_qlora_1gpu.yaml"), "trainer.strategy=fsdp2", "trainer.devices=8",
            f"run.output_dir={tmp_path / 'run'}", *accelerator]
    plan_code, plan_err = _error(capsys, "plan", *args)
    run_code, run_err = _error(capsys, "run", *args)
    assert (plan_code, run_code) == (2, 2), (plan_err, run_err)
    assert plan_err == run_err
    assert "trainer.strategy=fsdp2 with 4-bit QLoRA" in plan_err  # the FSDP2 message, not FSDP v1's
    assert "Lightning's FSDP strategy" not in plan_err
    assert not (tmp_path / "run").exists()


def test_run_refuses_a_stage_fsdp2_cannot_run_before_any_stage(tmp_path, capsys):
    out = tmp_path / "run"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("{}\n")
    code, err = _error(capsys, "run", str(recipe), *TINY, *FSDP2, FOUR_BIT_CLASSIFIER,
                       f"run.output_dir={out}")
    assert code == 2, err
    assert "`dareu run` (its fit-attributor stage) cannot run under fsdp2" in err
    assert "attributor.options.mode=qlora" in err
    # the way round: that stage under ddp, the others under fsdp2, in order
    assert ("`dareu prepare RECIPE`, `dareu fit-attributor RECIPE trainer.strategy=ddp`, "
            "`dareu unlearn RECIPE`") in err
    assert not out.exists()
    # `dareu unlearn` alone trains no attributor: the same recipe passes
    cfg = load_config(None, [*TINY, *FSDP2, FOUR_BIT_CLASSIFIER])
    check_strategy(cfg, "unlearn")
    with pytest.raises(ConfigError, match="so `dareu fit-attributor` cannot run"):
        check_strategy(cfg, "fit-attributor")


def test_fsdp2_runs_the_baselines_and_refuses_a_method_without_configure_model():
    baselines = "unlearn.methods=[dareu,npo,grad_diff]"
    check_strategy(load_config(None, [*TINY, *FSDP2, baselines]), "run")
    method = f"{__name__}:Unshardable"
    cfg = load_config(None, [*TINY, *FSDP2, f"unlearn.methods=[dareu,{method}]"])
    with pytest.raises(ConfigError, match="configure_model") as refused:
        check_strategy(cfg, "unlearn")
    assert method in str(refused.value) and "trainer.strategy=ddp" in str(refused.value)
    check_strategy(load_config(None, [*TINY, "trainer.strategy=ddp", f"unlearn.methods=[{method}]"]),
                   "unlearn")


def test_plan_names_the_strategy(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["plan", str(RECIPES / "quickstart.yaml"), "trainer.strategy=fsdp2",
                 "trainer.devices=2", "trainer.accelerator=cpu",
                 "--tflops", "1", "--gbps", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    devices = next(line for line in lines if line.startswith("devices:"))
    assert "world size 2" in devices and "strategy fsdp2 (FSDP2:" in devices


def test_fsdp2_refuses_dareu_with_adapters_and_a_measured_floor():
    """The floor is measured by decoding with the adapters-off reference, which a sharded peft
    model cannot do; a set floor, or full weights, can run."""
    lora = [*TINY, *FSDP2, "model.mode=lora"]
    with pytest.raises(ConfigError, match="model.mode=lora and unlearn.floor=auto") as refused:
        check_strategy(load_config(None, lora), "unlearn")
    assert "Set unlearn.floor to a number" in str(refused.value)
    check_strategy(load_config(None, [*lora, "unlearn.floor=0.1"]), "unlearn")
    check_strategy(load_config(None, [*lora, "unlearn.methods=[npo]"]), "unlearn")
    check_strategy(load_config(None, [*TINY, *FSDP2]), "unlearn")


def test_the_scale_out_docs_name_fsdp2_for_dareu_run():
    root = RECIPES.parent
    readme = (root / "README.md").read_text().split("## One GPU, several GPUs", 1)[1]
    readme = readme.split("## ", 1)[0]  # that section only
    assert "dareu run recipes/tofu_fsdp_baselines.yaml trainer.strategy=fsdp2" in readme
    field = (root / "dareu" / "config" / "run.py").read_text().split("strategy: str", 1)[1]
    assert "fsdp2" in field.split('"""')[1]  # the field's docstring
    assert "dareu run recipes/tofu_fsdp_baselines.yaml trainer.strategy=fsdp2" in \
        (root / "docs" / "scale_out.md").read_text()
