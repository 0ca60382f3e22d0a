"""User-facing errors: small domain classes, turned into one paragraph and exit code 2 by the CLI."""


class DareUError(Exception):
    """A mistake in the user's input (config, data, model folder). Never a bug in DareU."""

    exit_code = 2


class ConfigError(DareUError):
    """A recipe key is unknown, has the wrong type, or an invalid value."""


class DataError(DareUError):
    """A corpus file or record is missing, malformed, or inconsistent with the config."""


class ModelError(DareUError):
    """A model or tokenizer folder is missing, corrupt, unsafe, or incompatible."""


class EnvironmentProblem(DareUError):
    """The machine cannot do what the recipe asks (no CUDA, no bitsandbytes, unwritable disk)."""


class TrainingDiverged(DareUError):
    """Rewards or losses became NaN/inf while unlearning; the last good checkpoint is kept."""

    exit_code = 3


class PolicyCollapsed(DareUError):
    """DareU's policy answered with empty, near-deterministic or degenerate text for several steps
    in a row (it was gaming the attributor); the last good checkpoint is kept."""

    exit_code = 5


class IncompleteRun(DareUError):
    """A run finished its stages without some figure the recipe asked for (a method's or a model's
    results are missing from summary.json)."""

    exit_code = 4
