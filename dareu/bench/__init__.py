"""`dareu bench NAME [ARGS...]`: run a benchmark script from the repository's `bench/` folder.

Each entry maps a benchmark name to a script under `bench/` that defines `main(argv) -> int`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from dareu.errors import ConfigError

BENCHES = {
    "attribution": "attribution_lds.py",
    "rl-step": "dareu.bench.rl_step",  # a "dareu.bench.*" value is a module with main(argv)
    "memory": "dareu.bench.memory",
    "gpu": "dareu.bench.gpu",
    "qlora-7b": "dareu.bench.qlora_7b",
    "reward-audit": "dareu.bench.reward_audit",
    "classifier": "dareu.bench.classifier_heldout",
}
BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def bench_cli(name: str, args: list[str]) -> int:
    if name not in BENCHES:
        raise ConfigError(f"unknown benchmark {name!r}; available: {', '.join(sorted(BENCHES))}.")
    if BENCHES[name].startswith("dareu.bench."):
        # no local `import importlib` here: it would shadow the module-level name for the
        # script branch below (UnboundLocalError)
        return int(importlib.import_module(BENCHES[name]).main(list(args)) or 0)
    script = BENCH_DIR / BENCHES[name]
    if not script.is_file():
        raise ConfigError(f"benchmark script {script} is missing: benchmarks run from a source "
                          "checkout of DareU (the `bench/` folder is not installed).")
    spec = importlib.util.spec_from_file_location(f"dareu_bench_{name}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.main(list(args)) or 0)
