"""Style workflows: adding images, queueing and running training, generating, interpolating, the latent map.

This module loads without PyTorch; the functions that need it import studio.lab.nets/training inside.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from studio import lab
from studio.lab import LATENT_DIM, LabUnavailableError, available, samples_per_epoch
from studio.lab.models import Style, StyleImage, StyleModel
from studio.lab.tasks import enqueue_training
from studio.portraits.models import Portrait

if TYPE_CHECKING:
    from studio.lab.nets import StyleNet

logger = logging.getLogger(__name__)

STORED_SIDE = 128
OUTPUT_SIDE = 256
MIN_IMAGES, MAX_IMAGES = 5, 200
PROVIDER = "style"


class StyleError(ValueError):
    """A problem the user can fix; the message is ready to show."""


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# Images.


def upload_limit() -> int:
    return int(_setting("LAB_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))


def _read(data: bytes | UploadedFile) -> bytes:
    return data if isinstance(data, bytes) else data.read()


def prepare_image(data: bytes, name: str = "image") -> bytes:
    """An upload as a 128x128 RGB PNG (centre-cropped); refuses non-images and decompression bombs."""
    max_bytes = upload_limit()
    max_pixels = int(_setting("LAB_MAX_IMAGE_PIXELS", 40_000_000))
    if len(data) > max_bytes:
        raise StyleError(f"{name} is larger than {max_bytes // (1024 * 1024)} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise StyleError(
                        f"{name} is {width}×{height} pixels; the most the lab reads is {max_pixels:,}."
                    )
                image.draft("RGB", (STORED_SIDE * 2, STORED_SIDE * 2))
                image = ImageOps.exif_transpose(image).convert("RGB")
                fitted = ImageOps.fit(image, (STORED_SIDE, STORED_SIDE), Image.Resampling.LANCZOS)
    except StyleError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise StyleError(f"{name} is not an image the lab can read (PNG, JPEG, WebP or GIF).") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise StyleError(f"{name} is damaged or truncated and could not be read.") from error
    buffer = io.BytesIO()
    fitted.save(buffer, "PNG")
    return buffer.getvalue()


def _room(style: Style, adding: int) -> None:
    if style.images.count() + adding > MAX_IMAGES:
        raise StyleError(
            f"A style holds at most {MAX_IMAGES} images; {style.name} has {style.images.count()}."
        )


@dataclass
class UploadResult:
    added: list[StyleImage]
    problems: list[str]  # one message per file that could not be read, naming it


def add_uploads(style: Style, files: Sequence[tuple[str, bytes | UploadedFile]]) -> UploadResult:
    """Add the readable ones of uploaded files (name, bytes or the upload) and name the others: one unreadable
    file among good ones costs only itself. Raises StyleError when no file could be read or they do not fit.

    A file over the size limit is refused by its size, unread, and files are read one at a time: a request's
    memory is one file plus the small prepared PNGs, whatever the batch."""
    max_bytes = upload_limit()
    prepared, problems = [], []
    for name, data in files:
        size = len(data) if isinstance(data, bytes) else data.size
        if size > max_bytes:
            problems.append(f'"{name}" is larger than {max_bytes // (1024 * 1024)} MB.')
            continue
        try:
            prepared.append((name, prepare_image(_read(data), f'"{name}"')))
        except StyleError as error:
            problems.append(str(error))
    if not prepared:
        raise StyleError(" ".join(problems))
    _room(style, len(prepared))
    added = [_store(style, png, original_name=name[:255]) for name, png in prepared]
    return UploadResult(added, problems)


def add_portraits(style: Style, portraits: Iterable[Portrait]) -> list[StyleImage]:
    chosen = [portrait for portrait in portraits if portrait.image]
    _room(style, len(chosen))
    added = []
    for portrait in chosen:
        with portrait.image.open("rb") as file:
            png = prepare_image(file.read(), f"Portrait {portrait.pk}")
        added.append(_store(style, png, source_portrait=portrait, original_name=f"Portrait {portrait.pk}"))
    return added


def _store(style: Style, png: bytes, **fields: Any) -> StyleImage:
    image = StyleImage(style=style, **fields)
    image.image.save("image.png", ContentFile(png), save=False)
    image.save()
    return image


# Training.

# Seconds to push one image through a network and back during training on 2 busy CPU cores (measured on
# the reference machine, with headroom for a shared one); a CUDA GPU is counted GPU_SPEEDUP times faster.
CPU_SECONDS_PER_SAMPLE = {
    "vae": {32: 0.003, 64: 0.008, 128: 0.033},
    "dcgan": {32: 0.0035, 64: 0.01, 128: 0.043},
}
GPU_SPEEDUP = 20


def default_image_size() -> int:
    """128 pixels where a GPU trains in seconds; 64 on a CPU, where 128 takes about four times as long."""
    return 128 if lab.gpu_present() else 64


def estimate_training_seconds(*, method: str, image_size: int, image_count: int, epochs: int) -> float:
    per_sample = CPU_SECONDS_PER_SAMPLE.get(method, CPU_SECONDS_PER_SAMPLE["vae"]).get(image_size, 0.05)
    if lab.gpu_present():
        per_sample /= GPU_SPEEDUP
    return per_sample * samples_per_epoch(max(image_count, MIN_IMAGES)) * epochs


def describe_duration(seconds: float) -> str:
    """A rough duration for people: "under a minute", "about 3 minutes", "about 1.5 hours"."""
    if seconds < 50:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    return f"about {seconds / 3600:.1f} hours"


def start_training(style: Style, *, method: str, image_size: int, epochs: int, seed: int = 0) -> StyleModel:
    if not available():
        raise LabUnavailableError
    count = style.images.count()
    if count < MIN_IMAGES:
        raise StyleError(f"A style needs at least {MIN_IMAGES} images to train; {style.name} has {count}.")
    run = StyleModel.objects.create(
        owner=style.owner, style=style, method=method, image_size=image_size, epochs=epochs, seed=seed
    )
    transaction.on_commit(lambda: enqueue_training(run))
    return run


# Using a trained model.

_NETS: OrderedDict[tuple[int, str], StyleNet] = OrderedDict()


def load_net(run: StyleModel) -> StyleNet:
    """The trained network, kept in a small per-process cache (keyed by the weights file)."""
    if not available():
        raise LabUnavailableError
    if run.status != StyleModel.Status.SUCCEEDED or not run.weights:
        raise StyleError("This style model has not finished training.")
    from studio.lab.nets import load_bytes, pick_device

    key = (run.pk, run.weights.name)
    if key not in _NETS:
        with run.weights.open("rb") as file:
            _NETS[key], _metadata = load_bytes(file.read(), pick_device())
        while len(_NETS) > 4:
            _NETS.popitem(last=False)
    _NETS.move_to_end(key)
    return _NETS[key]


def decode_png(run: StyleModel, latents: np.ndarray) -> list[bytes]:
    """PNG bytes (upscaled to 256 pixels) for each latent vector."""
    import torch

    from studio.lab.nets import decode

    net = load_net(run)
    images = decode(net, torch.from_numpy(np.asarray(latents, dtype=np.float32)))
    pixels = (images.clamp(0, 1).numpy().transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)
    result = []
    for array in pixels:
        image = Image.fromarray(array, "RGB").resize((OUTPUT_SIDE, OUTPUT_SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        result.append(buffer.getvalue())
    return result


def sample_latents(run: StyleModel, count: int, creativity: float, seed: int) -> np.ndarray:
    """count latents drawn where the model's images live; creativity scales their spread around the mean."""
    import torch

    noise = np.random.default_rng(seed).standard_normal((count, LATENT_DIM)) * creativity
    latents = load_net(run).latents_from_noise(torch.from_numpy(noise.astype(np.float32)))
    return latents.numpy().astype(np.float32)


def save_artwork(run: StyleModel, latent: Sequence[float], png: bytes, **extra: Any) -> Portrait:
    from studio.portraits.jobs import png_metadata

    method = run.get_method_display()
    portrait = Portrait.objects.create(
        owner=run.owner,
        prompt=f"{run.style.name} style ({method})",
        provider=PROVIDER,
        model=run.method,
        parameters={
            "size": f"{OUTPUT_SIDE}x{OUTPUT_SIDE}",
            "method": run.method,
            "style": run.style_id,
            "style_model": run.pk,
            "latent": [round(float(value), 6) for value in latent],
            **extra,
        },
        seed=int(extra.get("seed", 0)),
        status=Portrait.Status.RUNNING,
        attempts=1,
        started_at=timezone.now(),
    )
    portrait.store_image(png, metadata=png_metadata(portrait))
    return portrait


def generate(run: StyleModel, *, count: int, creativity: float, seed: int) -> list[Portrait]:
    """count new artworks, which count against the owner's daily image limit like portraits (raises
    generation.QuotaExceededError, before any work, when they would pass it)."""
    from studio.portraits.generation import check_quota, daily_images

    check_quota(run.owner, count, Decimal("0"))
    latents = sample_latents(run, count, creativity, seed)
    pngs = decode_png(run, latents)
    with daily_images(run.owner, count):
        return [
            save_artwork(run, latent, png, creativity=creativity, seed=seed + index)
            for index, (latent, png) in enumerate(zip(latents, pngs, strict=True))
        ]


def artworks(run: StyleModel):
    return Portrait.objects.filter(owner=run.owner, provider=PROVIDER, parameters__style_model=run.pk)


def interpolation_latents(start: Sequence[float], end: Sequence[float], steps: int) -> np.ndarray:
    """steps latents from start to end inclusive, in a straight line (the endpoints are the sources)."""
    a, b = np.asarray(start, np.float32), np.asarray(end, np.float32)
    weights = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    latents = a + (b - a) * weights
    latents[0], latents[-1] = a, b
    return latents


def latent_of(portrait: Portrait) -> list[float]:
    latent = portrait.parameters.get("latent")
    if not isinstance(latent, list) or len(latent) != LATENT_DIM:
        raise StyleError(f"Portrait {portrait.pk} was not made by a style model.")
    return latent


# The latent map.


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    kind: str  # "training" or "generated"
    label: str
    thumb_url: str
    href: str


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components of each row (zeros where there is no spread)."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2), np.float32)
    _u, _s, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    if projected.shape[1] < 2:
        projected = np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))
    return projected


def _pixels(file: Any, side: int = 32) -> np.ndarray:
    with file.open("rb") as handle, Image.open(handle) as image:
        return np.asarray(image.convert("RGB").resize((side, side)), dtype=np.float32).ravel() / 255.0


def latent_map(style: Style, *, limit: int = 300) -> list[MapPoint]:
    """Training and generated images of a style projected to 2-D by PCA of their pixels, scaled to [0, 1]."""
    from django.urls import reverse

    items: list[tuple[np.ndarray, str, str, str, str]] = []
    for image in style.images.all()[:limit]:
        url = reverse("studio:style_image", args=[image.pk])
        items.append((_pixels(image.image), "training", image.original_name or "Training image", url, url))
    generated = Portrait.objects.filter(
        owner=style.owner, provider=PROVIDER, parameters__style=style.pk, status=Portrait.Status.SUCCEEDED
    )[:limit]
    for portrait in generated:
        items.append(
            (
                _pixels(portrait.image),
                "generated",
                f"Generated #{portrait.pk}",
                reverse("studio:portrait_thumbnail", args=[portrait.pk]),
                portrait.get_absolute_url(),
            )
        )
    if not items:
        return []
    coordinates = pca_2d(np.stack([item[0] for item in items]))
    low, high = coordinates.min(axis=0), coordinates.max(axis=0)
    scaled = (coordinates - low) / np.where(high - low > 1e-9, high - low, 1.0)
    return [
        MapPoint(float(x), float(y), kind, label, thumb, href)
        for (x, y), (_vector, kind, label, thumb, href) in zip(scaled, items, strict=True)
    ]
