"""The trainer section reaches lightning.Trainer: accumulation, clipping, max time, loggers and
callbacks each change what a fit does; bad values are ConfigErrors naming the key."""

from __future__ import annotations

import csv
import importlib.util

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from dareu.config import load_config
from dareu.errors import ConfigError, EnvironmentProblem
from dareu.loggers import check_logger, make_callbacks
from dareu.trainer import make_trainer

BASE = ["trainer.accelerator=cpu", "trainer.devices=1", "trainer.enable_progress_bar=false"]


class Line(L.LightningModule):
    """One weight, plain SGD at lr 1: an update moves it by exactly the (clipped) gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch, _):
        (x,) = batch
        loss = (self.w * x).sum() * 100
        self.log("loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=1.0)


def fit(tmp_path, *overrides: str, steps: int | None = None) -> tuple[L.Trainer, Line]:
    cfg = load_config(None, BASE + list(overrides)).trainer
    module = Line()
    trainer = make_trainer(cfg, tmp_path / "logs", "line", max_epochs=1,
                           **({"max_steps": steps} if steps else {}))
    trainer.fit(module, DataLoader(TensorDataset(torch.ones(4, 1)), batch_size=1))
    return trainer, module


def test_accumulation_halves_the_optimiser_steps(tmp_path):
    assert fit(tmp_path)[0].global_step == 4
    assert fit(tmp_path, "trainer.accumulate_grad_batches=2")[0].global_step == 2


def test_gradient_clipping_bounds_each_update(tmp_path):
    _, free = fit(tmp_path, steps=1)
    _, clipped = fit(tmp_path, "trainer.gradient_clip_val=0.5", steps=1)
    assert abs(free.w.item()) == pytest.approx(100) and abs(clipped.w.item()) == pytest.approx(0.5)
    _, by_value = fit(tmp_path, "trainer.gradient_clip_val=0.25", "trainer.gradient_clip_algorithm=value",
                      steps=1)
    assert abs(by_value.w.item()) == pytest.approx(0.25)


def test_max_time_stops_the_fit(tmp_path):
    assert fit(tmp_path, "trainer.max_time=00:00:00:00")[0].global_step < 4


def test_csv_is_always_written_and_tensorboard_adds_event_files(tmp_path):
    fit(tmp_path, "trainer.logger=tensorboard", "trainer.log_every_n_steps=1")
    rows = list(csv.DictReader(open(tmp_path / "logs" / "line" / "metrics.csv")))
    assert len(rows) == 4 and "loss" in rows[0]
    assert list((tmp_path / "logs" / "tensorboard" / "line").glob("events.out.tfevents.*"))
    fit(tmp_path, "trainer.logger=tensorboard", "trainer.logger_options={name: mine, version: v1}")
    assert list((tmp_path / "logs" / "tensorboard" / "mine" / "v1").glob("events.out.tfevents.*"))


def test_a_logger_without_its_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("wandb",) else real(name, *a))
    with pytest.raises(EnvironmentProblem, match=r"trainer.logger=wandb needs .*pip install wandb"):
        check_logger(load_config(None, ["trainer.logger=wandb"]).trainer)


def test_unknown_logger_and_csv_options_are_refused():
    with pytest.raises(ConfigError, match=r"trainer\.logger='tensorbord'.*did you mean tensorboard"):
        load_config(None, ["trainer.logger=tensorbord"])
    with pytest.raises(ConfigError, match=r"trainer\.logger_options"):
        check_logger(load_config(None, ["trainer.logger_options={project: x}"]).trainer)


@pytest.mark.parametrize("override,key", [("trainer.accumulate_grad_batches=0", "accumulate_grad_batches"),
                                          ("trainer.gradient_clip_val=-1", "gradient_clip_val"),
                                          ("trainer.gradient_clip_algorithm=l2", "gradient_clip_algorithm"),
                                          ("trainer.max_time=12h", "max_time"),
                                          ("trainer.callbacks=[3]", r"callbacks\[0\]")])
def test_bad_trainer_values_name_the_key(override, key):
    with pytest.raises(ConfigError, match=rf"trainer\.{key}"):
        load_config(None, [override])


CALLBACK = '''
import lightning as L

class Count(L.Callback):
    def __init__(self, label="x"):
        self.label, self.batches = label, 0

    def on_train_batch_end(self, trainer, *args):
        self.batches += 1
        trainer.counted = (self.label, self.batches)
'''


def test_callbacks_by_import_path_with_init_args(tmp_path, monkeypatch):
    (tmp_path / "my_callbacks.py").write_text(CALLBACK)
    monkeypatch.syspath_prepend(str(tmp_path))
    trainer, _ = fit(tmp_path, "trainer.callbacks=[{class_path: 'my_callbacks:Count', init_args: {label: seen}}]")
    assert trainer.counted == ("seen", 4)
    trainer, _ = fit(tmp_path, "trainer.callbacks=[my_callbacks.Count]")
    assert trainer.counted == ("x", 4)


@pytest.mark.parametrize("entry,match", [
    ("no_such_module:Cb", r"trainer\.callbacks\[0\].*cannot import module `no_such_module`"),
    ("my_callbacks:Nope", r"trainer\.callbacks\[0\].*naming a class"),
    ("torch.nn:Linear", r"trainer\.callbacks\[0\].*Callback subclass"),
    ("{class_path: 'my_callbacks:Count', init_args: {colour: red}}",
     r"trainer\.callbacks\[0\]\.init_args has unknown keys.*colour")])
def test_bad_callbacks_name_the_entry(tmp_path, monkeypatch, entry, match):
    (tmp_path / "my_callbacks.py").write_text(CALLBACK)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=match):
        make_callbacks(load_config(None, [f"trainer.callbacks=[{entry}]"]).trainer)
