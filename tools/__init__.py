"""The monorepo's developer tools, run from the repository root as modules::

    python -m tools.conformance.run --impl core --redis URL
    python -m tools.vectors.generate --redis URL
    python -m tools.bench.run --quick
    python -m tools.demo

Some modules also run in the reference client's venv (``tools.vectors.ref_driver``,
``tools.bench.worker``): this file and the sub-packages' ``__init__`` import the
standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root (the directory holding ``tools/``).
ROOT = Path(__file__).resolve().parent.parent


def module_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of ``python -m tools.X`` in another interpreter (a reference venv).

    ``PYTHONPATH`` is the repository root only: the child imports ``tools`` and
    nothing of the parent's paths (its own site-packages stay first for the rest).
    """
    env = {k: v for k, v in (os.environ if base is None else base).items() if k != "PYTHONHOME"}
    env["PYTHONPATH"] = str(ROOT)
    return env
