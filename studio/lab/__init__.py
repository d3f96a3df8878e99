"""The style lab: small generative models trained on the user's own images.

PyTorch is the optional `lab` extra (pip install torch==2.13.0, then pip install -e ".[lab]"). This package
never imports it at import time; studio.lab.nets and studio.lab.training do, and only lab code loads them.
"""

from __future__ import annotations

import importlib.util

INSTALL_HINT = 'pip install torch==2.13.0 && pip install -e ".[lab]"'


def available() -> bool:
    """Whether PyTorch is installed, checked without importing it."""
    return importlib.util.find_spec("torch") is not None


class LabUnavailableError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(f"The style lab needs PyTorch, which is not installed: {INSTALL_HINT}")
