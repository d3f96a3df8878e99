from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from studio.characters import vocabulary
from studio.characters.signals import visibility_changed

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def clean_name(text: str) -> str:
    """A character name as stored and compared: NFC, zero-width characters removed, spaces collapsed."""
    if not text.isascii():
        text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def name_key(text: str) -> str:
    """What makes two names the same character's: clean_name, then case-folded."""
    if text.isascii():
        return " ".join(text.split()).casefold()
    return unicodedata.normalize("NFC", clean_name(text).casefold())


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    PUBLIC = "public", "Public"


class Character(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="characters")
    name = models.CharField(max_length=120)
    distinguishing_features = models.TextField(
        blank=True, help_text="Scars, markings, anything the vocabulary does not cover."
    )
    negative_prompt = models.TextField(blank=True, help_text="What the image should avoid.")
    description = models.TextField(
        blank=True,
        help_text="Who the character is, in your words (a card's description); not sent to image models.",
    )
    age_years = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name="Exact age", help_text="In years; it decides the age range."
    )
    # The character card fields other tools use (personality, greetings, lorebook...), as the V3 card's
    # ``data`` object minus name and description, with every unknown field and foreign extension kept
    # exactly; top-level card fields outside ``data`` under CARD_TOP_LEVEL. See studio/imports/cards.py.
    card = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True, help_text="Private notes; never sent to an image model.")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # How many painted portraits (with a thumbnail) the character has: what its card shows and the list sorts
    # by. Kept by the portraits feature (studio/portraits/counts.py), never written by save() below; the
    # database default serves the imports' raw INSERTs.
    portrait_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    # The appearance attributes are added below from the vocabulary, one field each.

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint("owner", "name", name="unique_character_name_per_owner")]
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="character_owner_updated"),
            # The list's "Most portraits" sort, a keyset range on (count, id) like the others.
            models.Index(fields=["owner", "-portrait_count", "-id"], name="character_owner_portraits"),
        ]

    def __str__(self) -> str:
        return self.name

    # Everything that changes the prompt bumps the version, so a portrait records what it was made from.
    PROMPT_FIELDS: tuple[str, ...] = (
        *vocabulary.NAMES,
        "age_years",
        "distinguishing_features",
        "negative_prompt",
    )
    CARD_TOP_LEVEL = "_top_level"

    # Columns other features keep up to date with their own UPDATEs: saving a character loaded earlier
    # must not write its stale copy back over them.
    KEPT_ELSEWHERE = frozenset({"portrait_count"})

    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        if not adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                field.attname
                for field in self._meta.concrete_fields
                if not field.primary_key
                and field.attname not in deferred
                and field.name not in self.KEPT_ELSEWHERE
            ]
        if self.age_years is not None:  # the exact age decides the range (filters, painter, prompt)
            self.age = vocabulary.age_range(self.age_years) or self.age
        loaded = getattr(self, "_loaded_prompt_state", None)
        if loaded is not None and loaded != self.prompt_state():
            self.version += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version"}
        super().save(*args, **kwargs)
        self._loaded_prompt_state = self.prompt_state()
        if getattr(self, "_loaded_visibility", self.visibility) != self.visibility:
            # Whoever keeps copies of the flag (the portraits feature) listens.
            visibility_changed.send(sender=Character, character=self)
        self._loaded_visibility = self.visibility
        # A name we did not load may have changed: count it as a change of the owner's character list.
        if adding or getattr(self, "_loaded_name", None) != self.name:
            get_user_model().characters_changed(self.owner_id)
        self._loaded_name = self.name

    def get_absolute_url(self) -> str:
        return reverse("studio:character_detail", args=[self.pk])

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Character:
        instance = super().from_db(db, field_names, values)
        # Only a fully loaded row can be compared; reading deferred fields here would cost a query each.
        loaded_all = set(cls.PROMPT_FIELDS).issubset(field_names)
        instance._loaded_prompt_state = instance.prompt_state() if loaded_all else None
        if "visibility" in field_names:
            instance._loaded_visibility = instance.visibility
        if "name" in field_names:
            instance._loaded_name = instance.name
        return instance

    def prompt_state(self) -> tuple[Any, ...]:
        return tuple(
            tuple(value) if isinstance(value := getattr(self, name, None), list) else value
            for name in self.PROMPT_FIELDS
        )

    def prompt_values(self) -> dict[str, Any]:
        """Everything the prompt is built from, as a plain mapping (see prompts.build_prompt)."""
        return {name: getattr(self, name) for name in self.PROMPT_FIELDS}

    def attribute_values(self) -> dict[str, Any]:
        """The filled attributes, keyed by vocabulary name (lists for multi-valued ones)."""
        return {name: getattr(self, name) for name in vocabulary.NAMES if getattr(self, name)}

    def attribute_rows(self) -> list[tuple[str, str]]:
        """(label, value label) pairs of the filled attributes, for display."""
        rows = []
        for attribute in vocabulary.ATTRIBUTES:
            value = getattr(self, attribute.name)
            if not value:
                continue
            keys = value if attribute.multiple else [value]
            text = ", ".join(attribute.label_of(key) or key for key in keys)
            if attribute is vocabulary.AGE and self.age_years is not None:
                text = f"{self.age_years} years ({text})"
            rows.append((attribute.label, text))
        return rows


for _attribute in vocabulary.ATTRIBUTES:
    if _attribute.multiple:
        _field: models.Field = models.JSONField(default=list, blank=True, verbose_name=_attribute.label)
    else:
        _field = models.CharField(
            max_length=32, blank=True, choices=_attribute.field_choices, verbose_name=_attribute.label
        )
    Character.add_to_class(_attribute.name, _field)


@receiver(post_delete, sender=Character)
def _character_list_changed(sender: type[Character], instance: Character, **kwargs: Any) -> None:
    # One bump per owner per deletion (its `origin`), not one UPDATE per character: deleting 100,000
    # characters in one statement is one transaction, so the first bump already covers the rest. Nothing
    # to bump when the owner is being deleted too.
    origin = kwargs.get("origin")
    if isinstance(origin, get_user_model()) and origin.pk == instance.owner_id:
        return
    bumped = origin.__dict__.setdefault("_characters_changed", set()) if origin is not None else set()
    if instance.owner_id not in bumped:
        bumped.add(instance.owner_id)
        get_user_model().characters_changed(instance.owner_id)


# Logged whatever path changed a character (views, the CLI, the admin, an account deletion).
logger = logging.getLogger("studio.characters")


@receiver(post_save, sender=Character, dispatch_uid="studio.character_saved")
def _character_saved(sender: type[Character], instance: Character, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    logger.info(
        "character.created" if created else "character.updated",
        extra={"character_id": instance.pk, "owner_id": instance.owner_id, "version": instance.version},
    )


@receiver(post_delete, sender=Character, dispatch_uid="studio.character_deleted")
def _character_deleted(sender: type[Character], instance: Character, **kwargs: Any) -> None:
    logger.info("character.deleted", extra={"character_id": instance.pk, "owner_id": instance.owner_id})
