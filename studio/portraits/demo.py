"""Demo data: a demo user with a few characters and portraits, so the first screen is never empty."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from studio.characters.models import Character, Visibility
from studio.portraits.generation import queue_character_portrait
from studio.portraits.jobs import run_portrait_job

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "dali-demo-portraits"  # noqa: S105 - a published demo login, never used in production

DEMO_CHARACTERS: tuple[dict, ...] = (
    {
        "name": "Mara Vell",
        "gender": "female",
        "age": "young_adult",
        "skin_tone": "olive",
        "eye_color": "green",
        "hair_color": "auburn",
        "hair_style": "wavy",
        "body_type": "athletic",
        "clothing": "cloak",
        "clothing_color": "green",
        "clothing_style": "fantasy",
        "accessories": ["earrings", "staff"],
        "expression": "confident",
        "pose": "three_quarter",
        "art_style": "digital_painting",
        "lighting": "golden_hour",
        "background": "forest",
        "camera": "bust",
        "distinguishing_features": "a thin scar across the left eyebrow",
        "notes": "Ranger of the northern woods. Protagonist of book one.",
    },
    {
        "name": "Jun Takeda",
        "gender": "male",
        "age": "middle_aged",
        "skin_tone": "light",
        "ethnicity": "east_asian",
        "eye_color": "dark_brown",
        "hair_color": "grey",
        "hair_style": "short",
        "facial_hair": "goatee",
        "clothing": "suit",
        "clothing_color": "navy",
        "clothing_style": "business",
        "accessories": ["glasses", "wristwatch"],
        "expression": "thoughtful",
        "pose": "front",
        "art_style": "oil_painting",
        "lighting": "studio",
        "background": "library",
        "camera": "bust",
    },
    {
        "name": "Zee-9",
        "gender": "nonbinary",
        "age": "young_adult",
        "skin_tone": "blue",
        "eye_color": "violet",
        "hair_color": "pink",
        "hair_style": "mohawk",
        "clothing": "leather_jacket",
        "clothing_color": "black",
        "clothing_style": "cyberpunk",
        "accessories": ["headphones", "piercings"],
        "expression": "mischievous",
        "art_style": "comic",
        "lighting": "neon",
        "background": "night_city",
        "dominant_colors": ["neon"],
    },
)


@dataclass
class DemoResult:
    created: bool
    email: str
    password: str
    characters: int
    portraits: int


def seed_demo(*, portraits_per_character: int = 2) -> DemoResult:
    """Create the demo account once; on a database that already has it, do nothing."""
    User = get_user_model()
    if User.objects.filter(email=DEMO_EMAIL).exists():
        return DemoResult(False, DEMO_EMAIL, DEMO_PASSWORD, 0, 0)
    with transaction.atomic():
        user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, display_name="Demo")
        # Shared with the Community gallery (and the landing page's strip), as a new studio's first pictures.
        characters = [
            Character.objects.create(owner=user, visibility=Visibility.PUBLIC, **data)
            for data in DEMO_CHARACTERS
        ]
        portraits = [
            queue_character_portrait(character, provider="local", seed=index * 7919 + 11)
            for character in characters
            for index in range(portraits_per_character)
        ]
    # Paint them right here (the local painter is fast) so the first screen shows finished portraits.
    for portrait in portraits:
        run_portrait_job(portrait.pk)
    return DemoResult(True, DEMO_EMAIL, DEMO_PASSWORD, len(characters), len(portraits))
