"""`dareu <command> RECIPE.yaml [key=value ...]` — the stages of an unlearning run (and `dareu plan`,
which prints them with estimates and writes nothing).

User mistakes (a bad recipe, missing file, unusable model folder) print one paragraph and exit
with code 2; there is no traceback for them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from typing import Callable

from dareu.errors import DareUError

COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("dareu.stages.prepare:prepare", "build the corpus, train target and oracle models"),
    "fit-attributor": ("dareu.stages.fit_attributor:fit_attributor",
                       "fit the owner attributor on the corpus"),
    "unlearn": ("dareu.stages.unlearn:unlearn", "run the unlearning methods on the target"),
    "evaluate": ("dareu.stages.evaluate:evaluate", "evaluate target, oracle and unlearned models"),
    "attack": ("dareu.stages.attack:attack", "run the attacks of eval.attacks on every evaluated "
               "model"),
    "run": ("dareu.stages.run_all:run_all", "all stages: prepare → fit-attributor → unlearn → "
            "evaluate → attack → report"),
}


def _load(spec: str) -> Callable:
    from dareu.registry import import_object

    return import_object(spec, "command")


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import lightning  # noqa: F401  (it sets its loggers' levels on import: import first, then quiet)

    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger(name).propagate = False
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", category=UserWarning, module="peft")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dareu", description="LLM unlearning by de-attribution.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("recipe", help="YAML recipe, e.g. recipes/quickstart.yaml")
        sp.add_argument("overrides", nargs="*", help="dotted overrides, e.g. unlearn.steps=20")
        if name in ("unlearn", "run"):
            sp.add_argument("--resume", default=None, help="checkpoint to resume unlearning from "
                            "(default: the last one in the run directory, if any)")
    pp = sub.add_parser("plan", help="print each stage a recipe would run, with time and memory "
                        "estimates; writes nothing")
    pp.add_argument("recipe")
    pp.add_argument("overrides", nargs="*")
    pp.add_argument("--tflops", type=float, default=None, help="device matmul rate to assume")
    pp.add_argument("--gbps", type=float, default=None, help="device memory bandwidth to assume")
    rp = sub.add_parser("report", help="write report.md and plots for a run directory")
    rp.add_argument("run_dir")
    bp = sub.add_parser("bench", help="benchmarks (rl-step, attribution, gpu, qlora-7b, ...)")
    bp.add_argument("name", help="which benchmark")
    bp.add_argument("args", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.command:
        build_parser().print_help()
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="[dareu] %(message)s")
    _quiet_libraries()
    try:
        return _dispatch(args) or 0
    except DareUError as e:
        print(f"dareu: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("dareu: interrupted; rerun the same command to resume.", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int | None:
    if args.command == "report":
        return _load("dareu.stages.report:report_cli")(args.run_dir)
    if args.command == "plan":
        return _load("dareu.plan:plan_cli")(args.recipe, args.overrides, args.tflops, args.gbps)
    if args.command == "bench":
        return _load("dareu.bench:bench_cli")(args.name, args.args)
    from dareu.config import load_config
    from dareu.pipeline import Run

    from dareu.preflight import preflight

    run = Run(load_config(args.recipe, args.overrides))
    preflight(run, args.command)  # every name, folder, file and strategy its stages use, first
    fn = _load(COMMANDS[args.command][0])
    if getattr(args, "resume", None) is not None:
        fn(run, resume=args.resume)
    else:
        fn(run)
    print(f"dareu: {args.command} done; outputs in {run.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
