"""The style lab: small generative models trained on the user's own images.

PyTorch is the optional `lab` extra (pip install torch==2.13.0, then pip install -e ".[lab]"). This package
never imports it at import time; studio.lab.nets and studio.lab.training do, and only lab code loads them.
"""

from __future__ import annotations

import functools
import importlib.util

INSTALL_HINT = '.venv/bin/pip install torch==2.13.0 && .venv/bin/pip install -e ".[lab]"'

# A small style still gets enough optimiser steps per epoch: its images are repeated towards this many
# samples (a whole number of times, so 160 images or more are seen once per epoch).
MIN_SAMPLES_PER_EPOCH = 160

# The style networks' latent size (studio.lab.nets builds them, studio.lab.tasks trains them).
LATENT_DIM = 32


def available() -> bool:
    """Whether PyTorch is installed, checked without importing it."""
    return importlib.util.find_spec("torch") is not None


@functools.cache
def gpu_present() -> bool:
    """Whether training here would run on a CUDA GPU (imports torch, once, where it is installed)."""
    if not available():
        return False
    import torch

    return torch.cuda.is_available()


def samples_per_epoch(image_count: int) -> int:
    """How many images one epoch shows the network (the style's images, repeated for a small style)."""
    if image_count <= 0:
        return 0
    return image_count * max(1, MIN_SAMPLES_PER_EPOCH // image_count)


class LabUnavailableError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(f"The style lab needs PyTorch, which is not installed: {INSTALL_HINT}")
