"""The art lab: pattern drawing time, style-model training time per epoch and images generated per second.

Budgets: a 1024x1024 gradient or noise pattern in < 100 ms; >= 10 images generated per second; a VAE on
50 images at 64x64 trains its default 60 epochs in < 3 minutes on 2 CPU cores (GPU used when present).
The images are portraits from the offline painter, each different, as a user's style would be.

--full trains the VAE for the default epochs (timed for real, not estimated) and checks that it learnt the
images rather than their average: each reconstruction is much closer to its own source than the mean image
is, and samples differ from one another. --grid PATH saves sources, reconstructions and samples as a PNG.

python bench/lab.py [--threads 2] [--images 50] [--size 64] [--epochs 3] [--full] [--grid grid.png]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import random
import sys
import time

from _setup import budget, django_with_scratch_db, exit_code, median


def bench_patterns() -> None:
    from studio.lab import patterns

    for kind, _label in patterns.KINDS:
        options = patterns.PatternOptions(kind=kind, width=1024, height=1024, seed=1)
        patterns.render(options)
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            patterns.render(options)
            samples.append((time.perf_counter() - started) * 1000)
        limit = 100 if kind in ("gradient", "noise") else 250
        budget(f"pattern {kind} 1024x1024 (median of 5)", median(samples), "ms", limit)


def painter_portraits(count: int, size: int):
    """count different painter portraits, stored at 128 pixels and resized as the lab loads them."""
    import numpy as np
    from PIL import Image

    from studio import painter
    from studio.characters import vocabulary as v
    from studio.lab.styles import STORED_SIDE

    rng = random.Random(0)
    arrays = []
    for _ in range(count):
        values = {attribute.name: rng.choice(attribute.choices).key for attribute in v.ATTRIBUTES}
        image = painter.render(values, rng.randrange(10**6), STORED_SIDE).convert("RGB")
        resized = image.resize((size, size), Image.Resampling.LANCZOS)
        arrays.append(np.asarray(resized, dtype=np.float32).transpose(2, 0, 1) / 255.0)
    return np.stack(arrays)


def save_grid(rows, path: str) -> None:
    import numpy as np
    from PIL import Image

    pictures = [picture for row in rows for picture in row]
    columns = len(rows[0])
    side = pictures[0].shape[-1]
    canvas = np.ones((len(rows) * (side + 2), columns * (side + 2), 3), np.float32)
    for index, picture in enumerate(pictures):
        row, column = divmod(index, columns)
        top, left = row * (side + 2), column * (side + 2)
        canvas[top : top + side, left : left + side] = picture.transpose(1, 2, 0)
    Image.fromarray((canvas.clip(0, 1) * 255).round().astype(np.uint8)).resize(
        (canvas.shape[1] * 2, canvas.shape[0] * 2), Image.Resampling.NEAREST
    ).save(path)
    print(f"grid: {path} (rows: sources, reconstructions, samples, samples)")


def bench_style_models(args: argparse.Namespace) -> None:
    import numpy as np
    import torch
    from PIL import Image

    from studio.lab.forms import StyleTrainForm
    from studio.lab.nets import NetConfig, decode, pick_device
    from studio.lab.styles import LATENT_DIM
    from studio.lab.training import train

    default_epochs = StyleTrainForm.base_fields["epochs"].initial
    torch.set_num_threads(args.threads)
    data = torch.from_numpy(painter_portraits(args.images, args.size))
    device = pick_device()
    print(f"device: {device}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}")
    for method in ("vae", "dcgan"):
        config = NetConfig(method=method, image_size=args.size, latent_dim=LATENT_DIM)
        train(data, config, epochs=1, seed=0, device=device)  # warm-up
        epochs = default_epochs if args.full and method == "vae" else args.epochs
        result = train(data, config, epochs=epochs, seed=0, device=device)
        per_epoch = result.duration / epochs
        budget(f"{method} epoch, {args.images} images at {args.size}x{args.size}", per_epoch, "s", 3.0)
        if method == "vae":
            label = "" if epochs == default_epochs else " (estimated)"
            budget(f"vae {default_epochs} epochs{label}", per_epoch * default_epochs, "s", 180)
            if args.full:
                vae_quality(result.net, data, args.grid)
        batch = 64
        noise = torch.randn(batch, LATENT_DIM, generator=torch.Generator().manual_seed(1))
        decode(result.net, result.net.latents_from_noise(noise))
        started = time.perf_counter()
        rounds = 5
        for _ in range(rounds):
            images = decode(result.net, result.net.latents_from_noise(noise))
            pixels = (images.numpy().transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)
            for array in pixels:
                Image.fromarray(array, "RGB").resize((256, 256), Image.Resampling.LANCZOS).save(
                    io.BytesIO(), "PNG"
                )
        rate = batch * rounds / (time.perf_counter() - started)
        budget(
            f"{method} images generated per second (decode + 256px PNG)", rate, "images/s", 10, at_least=True
        )


def vae_quality(net, data, grid: str | None) -> None:
    import torch

    from studio.lab.nets import decode, reconstruct
    from studio.lab.styles import LATENT_DIM

    per_image = lambda a, b: ((a - b) ** 2).mean(dim=(1, 2, 3))  # noqa: E731
    reconstructions = reconstruct(net, data)
    own = per_image(reconstructions, data).mean().item()
    average = per_image(data.mean(0, keepdim=True).expand_as(data), data).mean().item()
    noise = torch.randn(32, LATENT_DIM, generator=torch.Generator().manual_seed(2))
    samples = decode(net, net.latents_from_noise(noise))
    spread, data_spread = samples.std(0).mean().item(), data.std(0).mean().item()
    print(f"vae reconstruction MSE {own:.4f}; the mean image's MSE {average:.4f}")
    print(f"pixel std across 32 samples {spread:.3f}; across the training images {data_spread:.3f}")
    budget("vae reconstruction MSE / mean image MSE", own / average, "", 0.5)
    budget(
        "vae pixel std across samples / across training images", spread / data_spread, "", 0.3, at_least=True
    )
    if grid:
        count = min(10, len(data))
        save_grid(
            [
                data[:count].numpy(),
                reconstructions[:count].numpy(),
                *samples[: 2 * count].numpy().reshape(2, count, *samples.shape[1:]),
            ],
            grid,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--full", action="store_true", help="train the VAE for the default epochs, check quality"
    )
    parser.add_argument("--grid", help="with --full: save sources, reconstructions and samples to this PNG")
    args = parser.parse_args()
    django_with_scratch_db("lab")
    bench_patterns()
    if importlib.util.find_spec("torch") is None:
        print("style models: skipped (PyTorch is not installed; see the Style lab page)")
        return
    bench_style_models(args)


if __name__ == "__main__":
    main()
    sys.exit(exit_code())
