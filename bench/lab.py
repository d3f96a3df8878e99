"""The art lab: pattern drawing time, style-model training time per epoch and images generated per second.

Budgets: a 1024x1024 gradient or noise pattern in < 100 ms; >= 10 images generated per second; a VAE on
50 images at 64x64 trains its default 60 epochs in < 3 minutes on 2 CPU cores (GPU used when present).

python bench/lab.py [--threads 2] [--images 50] [--size 64] [--epochs 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import time

from _setup import budget, django_with_scratch_db, median

DEFAULT_EPOCHS = 60  # StyleTrainForm's initial value


def bench_patterns() -> None:
    from studio import patterns

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


def bench_style_models(args: argparse.Namespace) -> None:
    import numpy as np
    import torch
    from PIL import Image

    from studio.lab.nets import NetConfig, decode, pick_device
    from studio.lab.training import train

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    images = np.full((args.images, 3, args.size, args.size), 0.1, np.float32)
    for index in range(args.images):
        x, y = rng.integers(0, args.size // 2, 2)
        images[index, index % 3, y : y + args.size // 2, x : x + args.size // 2] = 0.9
    data = torch.from_numpy(images)
    device = pick_device()
    print(f"device: {device}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}")
    for method in ("vae", "dcgan"):
        config = NetConfig(method=method, image_size=args.size, latent_dim=32)
        train(data, config, epochs=1, seed=0, device=device)  # warm-up
        result = train(data, config, epochs=args.epochs, seed=0, device=device)
        per_epoch = result.duration / args.epochs
        budget(f"{method} epoch, {args.images} images at {args.size}x{args.size}", per_epoch, "s", 3.0)
        if method == "vae":
            budget(f"vae {DEFAULT_EPOCHS} epochs (estimated)", per_epoch * DEFAULT_EPOCHS, "s", 180)
        batch = 64
        latents = torch.randn(batch, 32)
        decode(result.net, latents)
        started = time.perf_counter()
        rounds = 5
        for _ in range(rounds):
            pixels = (decode(result.net, latents).numpy().transpose(0, 2, 3, 1) * 255).astype(np.uint8)
            for array in pixels:
                Image.fromarray(array, "RGB").resize((256, 256)).save(io.BytesIO(), "PNG")
        rate = batch * rounds / (time.perf_counter() - started)
        budget(
            f"{method} images generated per second (decode + 256px PNG)", rate, "images/s", 50, at_least=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    django_with_scratch_db("lab")
    bench_patterns()
    if importlib.util.find_spec("torch") is None:
        print("style models: skipped (PyTorch is not installed; see the Style lab page)")
        return
    bench_style_models(args)


if __name__ == "__main__":
    main()
