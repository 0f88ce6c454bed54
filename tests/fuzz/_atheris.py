"""What every atheris harness here shares: the optional import, instrumentation, and ``main``.

The harnesses run as scripts (``.venv/bin/python tests/fuzz/atheris_snp.py -runs=10000``), so this
module is imported by its bare name from their folder. ``atheris`` is an optional dev dependency
(x86_64 only): importing a harness never needs it; running one without it says how to install it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

try:
    import atheris
except ImportError:  # pragma: no cover - optional
    atheris = None


def instrumented() -> Any:
    """Instrument the imports inside the ``with`` block for coverage (a no-op without atheris)."""
    return atheris.instrument_imports() if atheris is not None else contextlib.nullcontext()


def run(one_input: Callable[[bytes], None]) -> None:
    """Fuzz ``one_input`` with the command line's libFuzzer options."""
    if atheris is None:
        sys.exit("atheris is not installed: pip install 'attestgw[dev]' on x86_64")
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
