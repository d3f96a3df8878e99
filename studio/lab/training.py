"""Training loops for the style lab's networks (PyTorch). Pure functions over tensors: no Django here."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional

from .nets import Discriminator, NetConfig, StyleNet, pick_device, vae_loss

BATCH_SIZE = 16
# A small style still gets enough optimiser steps per epoch: its images are repeated towards this many
# samples (a whole number of times, so 50 images or more are seen once per epoch).
MIN_SAMPLES_PER_EPOCH = 96
# on_epoch(epoch, mean_loss) -> False to stop (the user cancelled).
EpochCallback = Callable[[int, float], bool]


class TrainingCancelledError(Exception):
    pass


@dataclass
class TrainingResult:
    net: StyleNet
    losses: list[float] = field(default_factory=list)
    duration: float = 0.0
    device: str = "cpu"


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def train(
    images: torch.Tensor,
    config: NetConfig,
    *,
    epochs: int,
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    device: torch.device | None = None,
) -> TrainingResult:
    """Train a style net on images (N, 3, S, S) in [0, 1]; the same seed gives the same run on one device."""
    if images.ndim != 4 or images.shape[1:] != (3, config.image_size, config.image_size):
        raise ValueError(f"images must be (N, 3, {config.image_size}, {config.image_size})")
    shuffle = seed_everything(seed)
    device = device or pick_device()
    net = StyleNet(config).to(device)
    data = images.float().to(device)
    step = _vae_trainer(net) if config.method == "vae" else _gan_trainer(net)
    losses: list[float] = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        net.train()
        repeats = max(1, MIN_SAMPLES_PER_EPOCH // len(data))
        order = torch.cat([torch.randperm(len(data), generator=shuffle) for _ in range(repeats)]).to(device)
        total, count = 0.0, 0
        for start in range(0, len(data), BATCH_SIZE):
            batch = data[order[start : start + BATCH_SIZE]]
            flips = torch.rand(len(batch), generator=shuffle).to(device) < 0.5
            batch = torch.where(flips[:, None, None, None], batch.flip(3), batch)
            total += step(batch) * len(batch)
            count += len(batch)
        losses.append(total / max(count, 1))
        if on_epoch is not None and on_epoch(epoch, losses[-1]) is False:
            raise TrainingCancelledError
    net.eval()
    return TrainingResult(net, losses, time.perf_counter() - started, str(device))


def _vae_trainer(net: StyleNet) -> Callable[[torch.Tensor], float]:
    optimiser = torch.optim.Adam(net.vae.parameters(), lr=2e-3)

    def step(batch: torch.Tensor) -> float:
        reconstruction, mu, logvar = net.vae(batch)
        loss = vae_loss(batch, reconstruction, mu, logvar)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        # Per pixel, so the curve reads the same at every image size.
        return loss.item() / batch[0].numel()

    return step


def _gan_trainer(net: StyleNet) -> Callable[[torch.Tensor], float]:
    generator, discriminator = net.generator, net.discriminator
    assert isinstance(discriminator, Discriminator)
    g_optimiser = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimiser = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    latent_dim = net.config.latent_dim

    def step(batch: torch.Tensor) -> float:
        count = len(batch)
        real, fake_label = torch.ones(count, device=batch.device), torch.zeros(count, device=batch.device)
        fake = generator(torch.randn(count, latent_dim, device=batch.device))
        d_loss = functional.binary_cross_entropy_with_logits(
            discriminator(batch),
            real * 0.9,  # one-sided label smoothing steadies tiny datasets
        ) + functional.binary_cross_entropy_with_logits(discriminator(fake.detach()), fake_label)
        d_optimiser.zero_grad()
        d_loss.backward()
        d_optimiser.step()
        g_loss = functional.binary_cross_entropy_with_logits(discriminator(fake), real)
        g_optimiser.zero_grad()
        g_loss.backward()
        g_optimiser.step()
        return g_loss.item()

    return step
