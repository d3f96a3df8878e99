"""The style lab's networks: a convolutional VAE and a small DCGAN (PyTorch, the optional `lab` extra).

Only this module and studio.lab.training import torch, and only studio.lab code imports them, lazily.
Images are float tensors in [0, 1], shape (N, 3, S, S), with S a power of two from 16 to 128.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional

SIZES = (16, 32, 64, 128)


@dataclass(frozen=True)
class NetConfig:
    method: str = "vae"  # "vae" or "dcgan"
    image_size: int = 64
    latent_dim: int = 32
    width: int = 24  # channels of the first conv layer; doubled per layer, capped at 8 x width
    # "upsample": nearest-neighbour doubling then a 3x3 conv, free of the checkerboard that strided
    # transposed convs paint (bilinear doubling blurs more); "transpose" is what older weights files hold.
    decoder: str = "upsample"

    def __post_init__(self) -> None:
        if self.image_size not in SIZES:
            raise ValueError(f"image_size must be one of {SIZES}")
        if self.method not in ("vae", "dcgan"):
            raise ValueError("method must be vae or dcgan")
        if self.decoder not in ("upsample", "transpose"):
            raise ValueError("decoder must be upsample or transpose")

    @property
    def levels(self) -> int:
        """Stride-2 layers between 4x4 and the image size."""
        return int(math.log2(self.image_size // 4))

    def channels(self) -> list[int]:
        return [min(self.width * 2**level, self.width * 8) for level in range(self.levels)]


def _down(config: NetConfig, *, batch_norm: bool) -> tuple[nn.Sequential, int]:
    """Conv stack from (3, S, S) to (C, 4, 4)."""
    layers: list[nn.Module] = []
    previous = 3
    for index, channels in enumerate(config.channels()):
        layers.append(nn.Conv2d(previous, channels, 4, 2, 1, bias=not batch_norm))
        if batch_norm and index:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        previous = channels
    return nn.Sequential(*layers), previous


def _up(config: NetConfig) -> tuple[nn.Linear, nn.Sequential, int]:
    """A linear layer from the latent to (C, 4, 4), then transposed convs up to (3, S, S) in [0, 1]."""
    channels = list(reversed(config.channels()))
    project = nn.Linear(config.latent_dim, channels[0] * 16)
    layers: list[nn.Module] = []
    for index, current in enumerate(channels):
        last = index == len(channels) - 1
        following = 3 if last else channels[index + 1]
        if config.decoder == "upsample":
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(current, following, 3, 1, 1),
            ]
        else:
            layers.append(nn.ConvTranspose2d(current, following, 4, 2, 1))
        if not last:
            layers += [nn.BatchNorm2d(following), nn.ReLU(inplace=True)]
    layers.append(nn.Sigmoid())
    return project, nn.Sequential(*layers), channels[0]


class VAE(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder, channels = _down(config, batch_norm=True)
        self.to_mu = nn.Linear(channels * 16, config.latent_dim)
        self.to_logvar = nn.Linear(channels * 16, config.latent_dim)
        self.project, self.decoder, self.top_channels = _up(config)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(images).flatten(1)
        return self.to_mu(features), self.to_logvar(features).clamp(-10, 10)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        features = self.project(latent).view(-1, self.top_channels, 4, 4)
        return self.decoder(functional.relu(features))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(images)
        latent = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(latent), mu, logvar


# The decoder is read as a Gaussian with this standard deviation per pixel: the squared error is weighed
# against the KL term as if pixels were known to about +-0.1. Binary cross-entropy weighs it like a deviation
# of ~0.4, so the KL term wins and every image decodes to the blurry average (posterior collapse).
PIXEL_SIGMA = 0.1


def vae_loss(
    images: torch.Tensor,
    reconstruction: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    beta: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, reconstruction term, KL term) per image: Gaussian reconstruction error plus beta x KL."""
    count = images.shape[0]
    recon = functional.mse_loss(reconstruction, images, reduction="sum") / (2 * PIXEL_SIGMA**2) / count
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / count
    return recon + beta * kl, recon, kl


class Generator(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.project, self.decoder, self.top_channels = _up(config)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        features = self.project(latent).view(-1, self.top_channels, 4, 4)
        return self.decoder(functional.relu(features))


class Discriminator(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.features, channels = _down(config, batch_norm=True)
        self.classify = nn.Conv2d(channels, 1, 4, 1, 0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(images)).flatten()


class StyleNet(nn.Module):
    """What a trained style model needs to make images: a decoder from the latent space (and, for a VAE,
    the encoder). Wraps either method behind decode()."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        if config.method == "vae":
            self.vae = VAE(config)
        else:
            self.generator = Generator(config)
            self.discriminator = Discriminator(config)
        # Where new latents are drawn: mean + scale @ noise. The unit Gaussian for a DCGAN; for a VAE, a
        # Gaussian fitted to the training images' codes after training (fit_latent_prior), since with a few
        # dozen images those codes fill only part of the unit Gaussian and the rest decodes to mud.
        self.register_buffer("latent_mean", torch.zeros(config.latent_dim))
        self.register_buffer("latent_scale", torch.eye(config.latent_dim))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent) if self.config.method == "vae" else self.generator(latent)

    def latents_from_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """Latents for (N, latent_dim) standard normal noise (scaled by the caller's creativity)."""
        mean, scale = self.latent_mean.cpu(), self.latent_scale.cpu()
        return mean + noise.float().cpu() @ scale.T

    @torch.no_grad()
    def fit_latent_prior(self, images: torch.Tensor, batch_size: int = 64) -> None:
        """Fit latent_mean/latent_scale to the VAE's posterior over images (and their mirror images)."""
        self.eval()
        device = self.latent_mean.device
        mus, variances = [], []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(device).float()
            for view in (batch, batch.flip(3)):
                mu, logvar = self.vae.encode(view)
                mus.append(mu)
                variances.append(logvar.exp())
        mu, variance = torch.cat(mus).double(), torch.cat(variances).double()
        # The aggregate posterior's covariance: the spread of the codes plus each code's own variance.
        spread = torch.cov(mu.T) if len(mu) > 1 else torch.zeros(len(mu[0]), len(mu[0]), device=device)
        covariance = spread + torch.diag(variance.mean(0))
        eye = torch.eye(len(covariance), dtype=covariance.dtype, device=device)
        scale = torch.linalg.cholesky(covariance + 1e-6 * eye)
        self.latent_mean.copy_(mu.mean(0).float())
        self.latent_scale.copy_(scale.float())


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def save_bytes(net: StyleNet, metadata: dict[str, Any] | None = None) -> bytes:
    buffer = io.BytesIO()
    state = {key: value.detach().cpu() for key, value in net.state_dict().items()}
    torch.save({"config": asdict(net.config), "state": state, "metadata": metadata or {}}, buffer)
    return buffer.getvalue()


def load_bytes(data: bytes, device: torch.device | None = None) -> tuple[StyleNet, dict[str, Any]]:
    # weights_only: a weights file never runs code when it is read.
    payload = torch.load(io.BytesIO(data), map_location=device or "cpu", weights_only=True)
    # Files written before the upsampling decoder and the fitted latent prior still load, as they were.
    config = NetConfig(**{"decoder": "transpose", **payload["config"]})
    net = StyleNet(config)
    state = dict(payload["state"])
    state.setdefault("latent_mean", torch.zeros(config.latent_dim))
    state.setdefault("latent_scale", torch.eye(config.latent_dim))
    net.load_state_dict(state)
    net.to(device or "cpu").eval()
    return net, payload.get("metadata", {})


@torch.no_grad()
def reconstruct(net: StyleNet, images: torch.Tensor) -> torch.Tensor:
    """A VAE's decoding of each image's code (the posterior mean), on the CPU."""
    net.eval()
    device = next(net.parameters()).device
    mu, _logvar = net.vae.encode(images.to(device).float())
    return net.vae.decode(mu).cpu()


@torch.no_grad()
def decode(net: StyleNet, latents: torch.Tensor) -> torch.Tensor:
    net.eval()
    device = next(net.parameters()).device
    return net.decode(latents.to(device).float()).cpu()
