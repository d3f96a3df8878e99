from __future__ import annotations

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.lab import styles  # noqa: E402
from studio.lab.nets import NetConfig, StyleNet, decode, load_bytes, reconstruct, save_bytes  # noqa: E402
from studio.lab.training import TrainingCancelledError, train  # noqa: E402


def synthetic_images(count: int = 24, size: int = 16) -> torch.Tensor:
    """Blocks of two colours on a plain background: structure a tiny model picks up in a few epochs."""
    rng = np.random.default_rng(0)
    images = np.full((count, 3, size, size), 0.1, np.float32)
    for index in range(count):
        x, y = rng.integers(0, size // 2, 2)
        images[index, index % 3, y : y + size // 2, x : x + size // 2] = 0.9
    return torch.from_numpy(images)


@pytest.mark.parametrize("method", ["vae", "dcgan"])
@pytest.mark.parametrize("size", [16, 32])
def test_it_builds_networks_that_decode_latents_to_images_of_the_chosen_size(method, size) -> None:
    config = NetConfig(method=method, image_size=size, latent_dim=8, width=8)
    net = StyleNet(config)

    images = decode(net, torch.randn(3, 8))

    assert images.shape == (3, 3, size, size)
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    if method == "vae":
        mu, logvar = net.vae.encode(torch.rand(2, 3, size, size))
        assert mu.shape == logvar.shape == (2, 8)
    else:
        assert net.discriminator(torch.rand(2, 3, size, size)).shape == (2,)


def test_it_brings_the_vae_loss_down_on_a_tiny_dataset_in_a_few_epochs() -> None:
    config = NetConfig(method="vae", image_size=16, latent_dim=8, width=8)

    result = train(synthetic_images(), config, epochs=4, seed=1, device=torch.device("cpu"))

    assert len(result.losses) == 4
    assert result.losses[-1] < result.losses[0]


def test_it_trains_a_dcgan_with_finite_losses_and_a_working_generator() -> None:
    config = NetConfig(method="dcgan", image_size=16, latent_dim=8, width=8)
    latent = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))

    result = train(synthetic_images(), config, epochs=3, seed=1, device=torch.device("cpu"))

    assert len(result.losses) == 3 and all(np.isfinite(result.losses))
    assert decode(result.net, latent).shape == (2, 3, 16, 16)


def test_it_repeats_a_training_run_exactly_with_the_same_seed() -> None:
    config = NetConfig(method="vae", image_size=16, latent_dim=8, width=8)
    latent = torch.zeros(1, 8)

    first = train(synthetic_images(), config, epochs=2, seed=5, device=torch.device("cpu"))
    again = train(synthetic_images(), config, epochs=2, seed=5, device=torch.device("cpu"))
    other = train(synthetic_images(), config, epochs=2, seed=6, device=torch.device("cpu"))

    assert first.losses == again.losses
    assert torch.equal(decode(first.net, latent), decode(again.net, latent))
    assert first.losses != other.losses


def test_it_stops_when_the_epoch_callback_says_so() -> None:
    config = NetConfig(method="vae", image_size=16, latent_dim=8, width=8)
    seen: list[int] = []

    with pytest.raises(TrainingCancelledError):
        train(
            synthetic_images(8),
            config,
            epochs=5,
            seed=0,
            on_epoch=lambda epoch, _loss: seen.append(epoch) or epoch < 2,
        )

    assert seen == [1, 2]


@pytest.mark.parametrize("method", ["vae", "dcgan"])
def test_it_saves_and_loads_weights_that_decode_identically(method) -> None:
    net = StyleNet(NetConfig(method=method, image_size=16, latent_dim=8, width=8))
    latent = torch.randn(2, 8)

    loaded, metadata = load_bytes(save_bytes(net, {"final_loss": 0.5}))

    assert metadata == {"final_loss": 0.5}
    assert loaded.config == net.config
    assert torch.equal(decode(net, latent), decode(loaded, latent))


def test_it_interpolates_from_one_latent_exactly_to_the_other() -> None:
    net = StyleNet(NetConfig(method="vae", image_size=16, latent_dim=8, width=8))
    start, end = np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32)

    latents = styles.interpolation_latents(start.tolist(), end.tolist(), 5)
    strip = decode(net, torch.from_numpy(latents))

    assert latents.shape == (5, 8)
    assert np.array_equal(latents[0], start) and np.array_equal(latents[-1], end)
    # Batched convolutions may differ from single ones in the last float bits.
    assert torch.allclose(strip[0], decode(net, torch.from_numpy(start[None]))[0], atol=1e-5)
    assert torch.allclose(strip[-1], decode(net, torch.from_numpy(end[None]))[0], atol=1e-5)
    assert not torch.equal(strip[2], strip[0])


def distinct_images(size: int = 16) -> torch.Tensor:
    """Six images that differ everywhere: each its own background, with a block of another colour."""
    colours = [
        (0.9, 0.1, 0.1),
        (0.1, 0.8, 0.2),
        (0.1, 0.2, 0.9),
        (0.9, 0.9, 0.1),
        (0.9, 0.2, 0.9),
        (0.1, 0.9, 0.9),
    ]
    images = np.zeros((len(colours), 3, size, size), np.float32)
    for index, colour in enumerate(colours):
        images[index] = np.asarray(colour, np.float32)[:, None, None]
        top, left = (index % 3) * size // 4, (index // 3) * size // 2
        images[index, :, top : top + size // 2, left : left + size // 2] = 1 - images[index, :, :1, :1]
    return torch.from_numpy(images)


def per_image_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).mean(dim=(1, 2, 3))


@pytest.fixture(scope="module")
def distinct_vae():
    """A VAE trained briefly (about a second) on six distinct images; the pre-fix training collapsed it."""
    config = NetConfig(method="vae", image_size=16, latent_dim=8, width=16)
    return train(distinct_images(), config, epochs=8, seed=0, device=torch.device("cpu")).net


def test_it_learns_each_image_rather_than_the_average_one(distinct_vae) -> None:
    images = distinct_images()

    reconstructions = reconstruct(distinct_vae, images)

    own = per_image_mse(reconstructions, images)
    mean_image = images.mean(0, keepdim=True).expand_as(images)
    # A collapsed VAE decodes every image to about the mean image; this one draws each image back.
    assert torch.all(own < per_image_mse(reconstructions, mean_image))
    assert own.mean() < 0.5 * per_image_mse(mean_image, images).mean()


def test_it_samples_images_that_differ_from_one_another(distinct_vae) -> None:
    images = distinct_images()
    noise = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))

    samples = decode(distinct_vae, distinct_vae.latents_from_noise(noise))

    assert samples.std(0).mean() > 0.25 * images.std(0).mean()
    # New latents are drawn where the training images' codes are, not from the unit Gaussian.
    assert not torch.equal(distinct_vae.latent_scale, torch.eye(8))


def test_it_still_loads_a_weights_file_from_before_the_fitted_prior() -> None:
    old = StyleNet(NetConfig(method="vae", image_size=16, latent_dim=8, width=8, decoder="transpose"))
    payload = {
        "config": {"method": "vae", "image_size": 16, "latent_dim": 8, "width": 8},
        "state": {k: v for k, v in old.state_dict().items() if not k.startswith("latent_")},
        "metadata": {},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)

    loaded, _metadata = load_bytes(buffer.getvalue())

    latent = torch.randn(2, 8)
    assert torch.equal(decode(loaded, loaded.latents_from_noise(latent)), decode(old, latent))
