"""The step-bounded progress bar counts training batches: DareU's rollouts, not its updates."""

from types import SimpleNamespace

from dareu.progress import StepRichProgressBar, StepTQDMProgressBar, _describe


def _trainer(max_steps, per_batch, max_epochs=-1):
    module = SimpleNamespace(optimizer_steps_per_batch=per_batch)
    return SimpleNamespace(max_steps=max_steps, max_epochs=max_epochs, lightning_module=module)


def test_a_dareu_run_of_120_rollouts_with_2_updates_each_reads_120_steps():
    trainer = _trainer(240, 2)
    assert _describe(trainer, 0) == "Epoch 0 · 120 steps"
    for bar in (StepRichProgressBar(), StepTQDMProgressBar()):
        bar._trainer = trainer  # what Lightning sets when the bar is attached
        assert bar.total_train_batches == 120
    assert _describe(_trainer(40, 1), 0) == "Epoch 0 · 40 steps"  # a baseline: one update a batch
    assert _describe(_trainer(-1, 1, max_epochs=5), 2) == "Epoch 2/4"
