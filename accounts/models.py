from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A studio user; the email address is the login."""

    class BudgetFallback(models.TextChoices):
        """What queueing does when a job would pass the daily spend limit (generation.queue_jobs)."""

        STOP = "stop", "Stop and queue nothing"
        CHEAPER = "cheaper", "Use a cheaper quality of the same model"
        PAINTER = "painter", "Use the offline painter (free)"

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=80, blank=True)
    # Opt-in: the Community gallery credits the user's display name under their public portraits.
    credit_in_community = models.BooleanField(
        "Show my display name on my portraits in the Community gallery", default=False
    )
    # Bumped whenever one of the user's characters is added, renamed or deleted: the character lists that
    # filters show are cached under it (studio.portraits.galleries.character_choices), so a page that
    # already loads the user row needs no query to know whether its cached list is current.
    characters_version = models.PositiveIntegerField(default=0, editable=False)
    budget_fallback = models.CharField(
        "when a job would pass my daily spend limit",
        max_length=10,
        choices=BudgetFallback.choices,
        default=BudgetFallback.STOP,
    )
    # "Paint a portrait when I save a character": None until the user chooses, which means on for the free
    # offline painter and off for a paid provider (studio.portraits.references.paints_on_save).
    paint_on_save = models.BooleanField(null=True, blank=True, default=None)
    # A paused queue keeps its jobs queued: no worker starts them until the user resumes (docs/queue.md).
    queue_paused = models.BooleanField(default=False, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[misc]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def short_name(self) -> str:
        return self.display_name or self.email.split("@", 1)[0]

    @classmethod
    def characters_changed(cls, user_id: int) -> None:
        """Mark the user's character list as changed (see characters_version)."""
        cls.objects.filter(pk=user_id).update(characters_version=models.F("characters_version") + 1)


class ApiToken(models.Model):
    """A user's API key for `Authorization: Bearer <token>`.

    Only the SHA-256 of the token is stored: the raw token is shown once, when it is created, and a database
    leak does not hand out working keys. An unsalted hash is enough: the token is 256 random bits.
    """

    PREFIX = "dali_"
    LAST_USED_RESOLUTION_SECONDS = 60  # refresh last_used_at at most once a minute: no write per request

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False, help_text="The token's first characters.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"API token {self.hint}… of {self.user}"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User) -> tuple[ApiToken, str]:
        """Create the user's token, replacing any previous one; returns the raw token, which is not stored."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token, _ = cls.objects.update_or_create(
            user=user,
            defaults={
                "key_hash": cls.hash(raw),
                "hint": raw[: len(cls.PREFIX) + 4],
                "created_at": timezone.now(),
                "last_used_at": None,
            },
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> User | None:
        """The active user owning this raw token, or None."""
        token = cls.objects.select_related("user").filter(key_hash=cls.hash(raw)).first()
        if token is None or not token.user.is_active:
            return None
        now = timezone.now()
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > cls.LAST_USED_RESOLUTION_SECONDS
        ):
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user
