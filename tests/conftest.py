import os
from pathlib import Path
from typing import NamedTuple

# Tiny models are dominated by per-op overhead: one intra-op thread per process is faster than two,
# and it keeps the 2-process DDP tests and CLI subprocesses from oversubscribing the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from tests.tofu_fake import FAKE, write_fake_tofu  # noqa: E402
from tests.tofu_shape import REAL, TofuShape  # noqa: E402

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tofu_dir(tmp_path_factory) -> Path:
    """A made-up TOFU folder (tests/tofu_fake.py), so TOFU tests need no data beside the clone."""
    return write_fake_tofu(tmp_path_factory.mktemp("tofu"))


@pytest.fixture(scope="session")
def real_tofu_dir() -> Path:
    """The real TOFU at $DAREU_TOFU_DIR (.ci/run sets it when ../shared/data/tofu exists); the
    test is skipped without it, and fails when it is set to a folder without full.json."""
    env = os.environ.get("DAREU_TOFU_DIR")
    if not env:
        pytest.skip("needs the real TOFU data: set DAREU_TOFU_DIR to a folder of TOFU JSON Lines "
                    "files laid out like locuslab/TOFU")
    path = Path(env).expanduser()
    if not (path / "full.json").is_file():
        pytest.fail(f"DAREU_TOFU_DIR={env}: no full.json there; expected a folder of TOFU JSON "
                    "Lines files laid out like locuslab/TOFU.", pytrace=False)
    return path


class Tofu(NamedTuple):
    path: Path
    shape: TofuShape


@pytest.fixture(scope="session", params=["made-up", "real"])
def tofu(request) -> Tofu:
    """Each TOFU test twice: on the made-up folder, and on the real data where DAREU_TOFU_DIR is."""
    if request.param == "real":
        return Tofu(request.getfixturevalue("real_tofu_dir"), REAL)
    return Tofu(request.getfixturevalue("tofu_dir"), FAKE)


# A tiny run (1-layer model, tiny classifier) for the unlearning tests; each adds its unlearn.* keys.
TINY_RUN = ["data.num_owners=6", "data.qa_per_owner=4", "data.num_holdout_owners=1",
            "data.num_test_questions=4", "model.n_layer=1", "model.n_embd=32", "model.n_head=2",
            "model.vocab_size=400", "model.max_length=64", "finetune.epochs=3",
            "finetune.batch_size=8", "trainer.accelerator=cpu", "trainer.devices=1",
            "trainer.enable_progress_bar=false", "eval.max_new_tokens=12", "eval.metrics=[]",
            "run.threads=1", "attributor.options={n_layer: 1, n_embd: 32, n_head: 2, epochs: 2}"]


def prepare_run(out: Path, overrides: list[str]) -> Path:
    """A run directory with tokenizer, target, oracle and fitted attributor (for unlearn tests)."""
    from dareu.config import load_config
    from dareu.pipeline import Run
    from dareu.stages.fit_attributor import fit_attributor
    from dareu.stages.prepare import prepare

    run = Run(load_config(None, list(overrides) + [f"run.output_dir={out}"]))
    prepare(run)
    fit_attributor(run)
    return out
