"""DareU: LLM unlearning by de-attribution."""

import logging as _logging

# bitsandbytes logs at import, on CPUs with avx512_bf16, that its optional `kernels` package for the
# packed 4-bit CPU layout is missing. DareU turns that layout off (dareu.models.keep_4bit_layout),
# so the message is noise for every run: keep it quiet.
_logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(_logging.ERROR)

__version__ = "0.1.0"
