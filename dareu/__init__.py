"""DareU: LLM unlearning by de-attribution."""

__version__ = "0.1.0"
