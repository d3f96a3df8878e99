"""Training loops for the style lab's networks (PyTorch). Pure functions over tensors: no Django here."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional

from studio.lab import samples_per_epoch
from studio.lab.nets import Discriminator, NetConfig, StyleNet, pick_device, vae_loss

# Small VAE batches: twice the optimiser steps for about the same CPU time per image. A DCGAN's batch-normed
# discriminator wants more images per batch.
VAE_BATCH_SIZE = 8
GAN_BATCH_SIZE = 16
# The VAE's KL weight rises from 0 to VAE_BETA over the first KL_WARMUP of the steps, so the encoder learns
# to tell the images apart before the prior pulls their codes together. The reconstruction's pixel sigma
# (nets.PIXEL_SIGMA) already tips the balance towards the images, so the full KL term is kept at the end.
VAE_BETA = 1.0
KL_WARMUP = 0.3
VAE_LEARNING_RATE = 2e-3
# on_epoch(epoch, mean_loss) -> False to stop (the user cancelled).
EpochCallback = Callable[[int, float], bool]
# step(batch, progress) -> loss, with progress the fraction of all steps done so far (0 to 1).
Step = Callable[[torch.Tensor, float], float]


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
    if not len(images):
        raise ValueError("there are no images to train on")
    shuffle = seed_everything(seed)
    device = device or pick_device()
    net = StyleNet(config).to(device)
    data = images.float().to(device)
    step = _vae_trainer(net) if config.method == "vae" else _gan_trainer(net)
    batch_size = VAE_BATCH_SIZE if config.method == "vae" else GAN_BATCH_SIZE
    samples = samples_per_epoch(len(data))
    repeats = samples // len(data)
    total_steps = epochs * -(-samples // batch_size)
    done = 0
    losses: list[float] = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.cat([torch.randperm(len(data), generator=shuffle) for _ in range(repeats)]).to(device)
        total, count = 0.0, 0
        for start in range(0, samples, batch_size):
            batch = data[order[start : start + batch_size]]
            flips = torch.rand(len(batch), generator=shuffle).to(device) < 0.5
            batch = torch.where(flips[:, None, None, None], batch.flip(3), batch)
            total += step(batch, done / total_steps) * len(batch)
            count += len(batch)
            done += 1
        losses.append(total / max(count, 1))
        if on_epoch is not None and on_epoch(epoch, losses[-1]) is False:
            raise TrainingCancelledError
    if config.method == "vae":
        net.fit_latent_prior(data)
    net.eval()
    return TrainingResult(net, losses, time.perf_counter() - started, str(device))


def _vae_trainer(net: StyleNet) -> Step:
    optimiser = torch.optim.Adam(net.vae.parameters(), lr=VAE_LEARNING_RATE)

    def step(batch: torch.Tensor, progress: float) -> float:
        # Cosine decay over the run: big steps early, fine detail late.
        for group in optimiser.param_groups:
            group["lr"] = VAE_LEARNING_RATE * (0.55 + 0.45 * math.cos(math.pi * progress))
        beta = VAE_BETA * min(1.0, progress / KL_WARMUP) if KL_WARMUP else VAE_BETA
        reconstruction, mu, logvar = net.vae(batch)
        loss, recon, kl = vae_loss(batch, reconstruction, mu, logvar, beta=beta)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        # The curve shows the full objective (whatever the warm-up weight), per pixel, so it reads the same
        # at every image size and only goes down as the model improves.
        return (recon.item() + VAE_BETA * kl.item()) / batch[0].numel()

    return step


def _gan_trainer(net: StyleNet) -> Step:
    generator, discriminator = net.generator, net.discriminator
    assert isinstance(discriminator, Discriminator)
    g_optimiser = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimiser = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    latent_dim = net.config.latent_dim

    def step(batch: torch.Tensor, _progress: float) -> float:
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
