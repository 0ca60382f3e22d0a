"""The stages of a run: prepare, fit-attributor, unlearn, evaluate, report."""
