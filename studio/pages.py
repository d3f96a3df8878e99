from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from studio import painter
from studio.portraits.models import Portrait

LANDING_PORTRAITS = 8


@dataclass(frozen=True)
class Sample:
    """A portrait the offline painter makes for the start page: the page has pictures on a new studio too."""

    alt: str
    values: dict[str, Any]
    seed: int = 7


# Four looks that show the range (species, ages, art styles); painted on first request, then cached.
SAMPLES: tuple[Sample, ...] = (
    Sample(
        "An elf ranger with long platinum hair in a green cloak, watercolour, forest at golden hour",
        {
            "name": "Aelin",
            "gender": "female",
            "age": "young_adult",
            "ethnicity": "elf",
            "skin_tone": "fair",
            "hair_color": "platinum",
            "hair_style": "long",
            "eye_color": "green",
            "clothing": "cloak",
            "clothing_color": "green",
            "clothing_style": "fantasy",
            "accessories": ["earrings"],
            "expression": "confident",
            "art_style": "watercolor",
            "background": "forest",
            "lighting": "golden_hour",
        },
    ),
    Sample(
        "An orc knight with a black mohawk, armour and a sword, oil painting, castle by candlelight",
        {
            "name": "Grosh",
            "gender": "male",
            "age": "adult",
            "ethnicity": "orc",
            "skin_tone": "green",
            "hair_color": "black",
            "hair_style": "mohawk",
            "eye_color": "amber",
            "body_type": "muscular",
            "clothing": "armor",
            "clothing_color": "grey",
            "clothing_style": "medieval",
            "accessories": ["sword"],
            "expression": "serious",
            "art_style": "oil_painting",
            "background": "castle",
            "lighting": "candlelight",
        },
    ),
    Sample(
        "A child astronaut with curly black hair, pixel art, stars behind",
        {
            "name": "Pip",
            "gender": "nonbinary",
            "age": "child",
            "skin_tone": "brown",
            "hair_color": "black",
            "hair_style": "curly",
            "eye_color": "brown",
            "clothing": "spacesuit",
            "clothing_color": "white",
            "expression": "smiling",
            "art_style": "pixel_art",
            "background": "space",
        },
    ),
    Sample(
        "An elderly scientist with a white bun, glasses and a lab coat, anime style, in a library",
        {
            "name": "Ines Okafor",
            "gender": "female",
            "age": "elderly",
            "skin_tone": "dark",
            "hair_color": "white",
            "hair_style": "bun",
            "eye_color": "dark_brown",
            "clothing": "lab_coat",
            "clothing_color": "white",
            "accessories": ["glasses"],
            "expression": "thoughtful",
            "art_style": "anime",
            "background": "library",
            "lighting": "soft",
        },
    ),
)
SAMPLE_SIZE = 384  # twice the largest size the start page shows them at
SAMPLE_MAX_AGE = 24 * 60 * 60


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("studio:character_list")
    return render(request, "home.html", {"showcase": showcase(), "samples": SAMPLES})


def showcase() -> list[Portrait]:
    """The newest public portraits, one per character (a batch of variations is not eight of one face)."""
    newest = (
        Portrait.objects.filter(is_public=True, status=Portrait.Status.SUCCEEDED)
        .exclude(thumbnail="")
        .only("pk", "prompt", "character_id")
        .order_by("-created_at", "-id")[: LANDING_PORTRAITS * 4]
    )
    chosen: list[Portrait] = []
    seen: set[int] = set()
    for portrait in newest:
        if portrait.character_id is not None:
            if portrait.character_id in seen:
                continue
            seen.add(portrait.character_id)
        chosen.append(portrait)
        if len(chosen) == LANDING_PORTRAITS:
            break
    return chosen


@lru_cache(maxsize=len(SAMPLES))
def sample_webp(index: int) -> bytes:
    sample = SAMPLES[index]
    image = painter.render(sample.values, sample.seed, SAMPLE_SIZE)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=82, method=4)
    return buffer.getvalue()


@require_GET
def sample_portrait(request: HttpRequest, index: int) -> HttpResponse:
    """One of the start page's sample portraits (public: they show no one's data)."""
    if not 0 <= index < len(SAMPLES):
        raise Http404("No such sample.")
    response = HttpResponse(sample_webp(index), content_type="image/webp")
    response["Cache-Control"] = f"public, max-age={SAMPLE_MAX_AGE}"
    return response
