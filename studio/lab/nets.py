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
    width: int = 32  # channels of the first conv layer; doubled per layer, capped at 8 x width

    def __post_init__(self) -> None:
        if self.image_size not in SIZES:
            raise ValueError(f"image_size must be one of {SIZES}")
        if self.method not in ("vae", "dcgan"):
            raise ValueError("method must be vae or dcgan")

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


def vae_loss(images: torch.Tensor, reconstruction: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor):
    """Per-image binary cross-entropy plus the KL divergence to the unit Gaussian."""
    count = images.shape[0]
    recon = functional.binary_cross_entropy(reconstruction, images, reduction="sum") / count
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / count
    return recon + kl


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

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent) if self.config.method == "vae" else self.generator(latent)


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
    net = StyleNet(NetConfig(**payload["config"]))
    net.load_state_dict(payload["state"])
    net.to(device or "cpu").eval()
    return net, payload.get("metadata", {})


@torch.no_grad()
def decode(net: StyleNet, latents: torch.Tensor) -> torch.Tensor:
    net.eval()
    device = next(net.parameters()).device
    return net.decode(latents.to(device).float()).cpu()
