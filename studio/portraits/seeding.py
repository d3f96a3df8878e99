"""Synthetic portraits in bulk, for benchmarks and demos: `manage.py studio seed-portraits N --user EMAIL`.

Rows are inserted with bulk_create in batches; their image files are a handful of real painter renders shared
by every row (under models.SHARED_FILES_PREFIX, which deleting one portrait never removes). Optionally a share
of them failed, and a share liked and favourited by their owner, so every gallery filter has rows to find.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from studio import painter
from studio.characters import prompts
from studio.characters.models import Character, Visibility
from studio.portraits.counts import refresh_portrait_counts
from studio.portraits.demo import DEMO_CHARACTERS
from studio.portraits.files import encode_portrait_files
from studio.portraits.models import NEVER_QUEUED, SHARED_FILES_PREFIX, Favourite, Like, Portrait
from studio.portraits.providers.base import ErrorKind, user_message

PROVIDERS = ("local", "openai", "stability", "huggingface")
MODELS = {"local": painter.MODEL_NAME, "openai": "gpt-image-2", "stability": "core", "huggingface": "flux"}


@dataclass(frozen=True)
class SharedFiles:
    image: str
    thumbnail: str
    width: int
    height: int
    size: int
    sha256: str


def shared_files(count: int = 6, size: int = 512) -> list[SharedFiles]:
    """A few real painter renders stored once, to be pointed at by many seeded rows."""
    files = []
    for index in range(count):
        values = DEMO_CHARACTERS[index % len(DEMO_CHARACTERS)]
        encoded = encode_portrait_files(painter.render_png(values, seed=1000 + index, size=size))
        stem = f"{SHARED_FILES_PREFIX}{uuid.uuid4().hex}"
        image = default_storage.save(f"{stem}.png", ContentFile(encoded.png))
        thumbnail = default_storage.save(f"{stem}.webp", ContentFile(encoded.webp))
        digest = hashlib.sha256(encoded.png).hexdigest()
        files.append(SharedFiles(image, thumbnail, encoded.width, encoded.height, len(encoded.png), digest))
    return files


def seed_characters(user: Any, count: int) -> list[Character]:
    characters = []
    for index in range(count):
        data = dict(DEMO_CHARACTERS[index % len(DEMO_CHARACTERS)])
        data["name"] = f"{data['name']} (seed {index + 1})"
        character, _ = Character.objects.get_or_create(owner=user, name=data.pop("name"), defaults=data)
        characters.append(character)
    return characters


def seed_portraits(
    user: Any,
    count: int,
    *,
    characters: int = 6,
    public_fraction: float = 0.2,
    batch_size: int = 2000,
    random_seed: int = 7,
    files: list[SharedFiles] | None = None,
    newest: dt.datetime | None = None,
    failed_fraction: float = 0.0,
    liked_fraction: float = 0.0,
    favourite_fraction: float = 0.0,
) -> int:
    """Insert `count` finished portraits for `user`, newest first one minute apart (every 7th shares the
    previous one's timestamp, so keyset pagination is exercised on ties). Returns how many were created.

    failed_fraction of them failed (no image, a moderation error); liked_fraction and favourite_fraction of
    the rest are liked and favourited by `user`. These draw from their own random sequence, so the other
    fields of each row are the same with or without them."""
    rng = random.Random(random_seed)
    extras = random.Random(random_seed + 1)
    failure = user_message(ErrorKind.MODERATION)
    files = files or shared_files()
    cast = seed_characters(user, characters)
    character_prompts = {character.pk: prompts.character_prompt(character).text for character in cast}
    newest = newest or timezone.now()
    stamp = newest
    created = 0
    batch: list[Portrait] = []
    liked: list[Portrait] = []
    favourite: list[Portrait] = []

    def insert(batch: list[Portrait]) -> None:
        Portrait.objects.bulk_create(batch)  # sets the pks on PostgreSQL and SQLite alike
        Like.objects.bulk_create([Like(user=user, portrait=portrait) for portrait in liked])
        Favourite.objects.bulk_create([Favourite(user=user, portrait=portrait) for portrait in favourite])
        liked.clear()
        favourite.clear()

    with transaction.atomic():
        for index in range(count):
            if index % 7:
                stamp = newest - dt.timedelta(minutes=index)
            character = cast[index % len(cast)]
            provider = PROVIDERS[rng.randrange(len(PROVIDERS))]
            file = files[index % len(files)]
            public = rng.random() < public_fraction
            batch.append(
                Portrait(
                    owner=user,
                    character=character,
                    character_version=character.version,
                    prompt=character_prompts[character.pk],
                    provider=provider,
                    model=MODELS[provider],
                    parameters={"size": f"{file.width}x{file.height}"},
                    seed=rng.randrange(2**31),
                    status=Portrait.Status.SUCCEEDED,
                    image=file.image,
                    thumbnail=file.thumbnail,
                    width=file.width,
                    height=file.height,
                    file_size=file.size,
                    sha256=file.sha256,
                    visibility=Visibility.PUBLIC if public else Visibility.PRIVATE,
                    is_public=public or character.visibility == Visibility.PUBLIC,
                    created_at=stamp,
                    queued_at=NEVER_QUEUED,  # never queued: out of the daily limits and off the queue page
                    finished_at=stamp,
                )
            )
            portrait = batch[-1]
            if failed_fraction and extras.random() < failed_fraction:
                portrait.status = Portrait.Status.FAILED
                portrait.error_kind = ErrorKind.MODERATION.value
                portrait.error_message = failure
                portrait.image = portrait.thumbnail = ""
                portrait.width = portrait.height = portrait.file_size = None
            else:
                if liked_fraction and extras.random() < liked_fraction:
                    portrait.like_count = 1
                    liked.append(portrait)
                if favourite_fraction and extras.random() < favourite_fraction:
                    favourite.append(portrait)
            if len(batch) >= batch_size:
                insert(batch)
                created += len(batch)
                batch = []
        if batch:
            insert(batch)
            created += len(batch)
        # bulk_create skips Portrait.save, which keeps the characters' stored counts.
        refresh_portrait_counts(character.pk for character in cast)
    return created
