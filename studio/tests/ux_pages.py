"""The studio's main pages and the demo data that fills them: e2e/test_pages_a11y.py and bench/ux.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.urls import reverse

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "e2e" / "vendor" / "axe-core" / "axe.min.js"
DATASET_NAME = "demo-well"

# Serious and critical violations fail the e2e suite; the bench counts every impact.
BLOCKING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    signed_in: bool = True
    status: int = 200  # the error pages answer 403 or 404 on purpose


@dataclass(frozen=True)
class UxDemo:
    email: str
    password: str
    pages: tuple[Page, ...]


def _demo_frames_csv(rows: int = 60, width: int = 40) -> bytes:
    lines = ["depth," + ",".join(f"col{i}" for i in range(1, width + 1))]
    for row in range(rows):
        lines.append(
            f"{1000 + row * 0.5}," + ",".join(str((row * 7 + col * 13) % 256) for col in range(width))
        )
    return ("\n".join(lines) + "\n").encode()


INVALID_IMPORT_CSV = (
    "name,gender,age,hair_color,eye_color\n"
    "Ilse Marr,female,adult,black,grey\n"
    "Tobin Reed,male,toddler-ish,blond,blue\n"
    "Oona Vasquez,female,young_adult,purple,brown\n"
)
QUICK_PROMPT = "a child astronaut floating in space, pixel art"


def _seed_jobs(user, characters) -> int:
    """A painted quick-generate portrait, and a batch with one job of each state; returns the batch's id."""
    from django.utils import timezone

    from studio.portraits.generation import JobOptions, JobSpec, queue_character_portraits, queue_jobs
    from studio.portraits.jobs import run_portrait_job
    from studio.portraits.models import Portrait

    quick = queue_jobs(user, [JobSpec(QUICK_PROMPT)], JobOptions(provider="local"))
    run_portrait_job(quick[0].pk)
    painted, running, _queued, failed, cancelled = queue_character_portraits(
        characters[0], JobOptions(provider="local"), count=5, seed=101
    )
    run_portrait_job(painted.pk)
    now = timezone.now()
    Portrait.objects.filter(pk=running.pk).update(status=Portrait.Status.RUNNING, started_at=now)
    Portrait.objects.filter(pk=failed.pk).update(
        status=Portrait.Status.FAILED,
        error_kind="rate_limited",
        error_message="The provider is busy right now (rate limited). Try again in a minute.",
        finished_at=now,
    )
    Portrait.objects.filter(pk=cancelled.pk).update(status=Portrait.Status.CANCELLED, finished_at=now)
    return painted.batch_id


def _seed_import_draft(user) -> int:
    """A previewed CSV import with one invalid row (an age that is not a choice)."""
    from django.core.files.base import ContentFile

    from studio.imports.models import CharacterImport
    from studio.imports.tasks import preview_job

    job = CharacterImport(owner=user, status=CharacterImport.Status.DRAFT, original_name="cast.csv")
    job.source.save("upload", ContentFile(INVALID_IMPORT_CSV.encode()), save=False)
    job.total_rows = preview_job(job).total
    job.save()
    return job.pk


def seed_ux_demo() -> UxDemo:
    """The demo account (`studio seed-demo`) and more: two public portraits (one liked and a favourite), a
    face reference, a painted quick-generate portrait, a batch with a running, a queued, a failed and a
    cancelled job, a previewed import with an invalid row, a depth dataset and a style with three images;
    the pages that show them."""
    from django.contrib.auth import get_user_model

    from studio.characters.models import Character
    from studio.frames.ingest import ingest_csv
    from studio.frames.models import DepthDataset
    from studio.imports.models import CharacterImport
    from studio.lab.models import Style
    from studio.lab.styles import add_portraits
    from studio.portraits.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
    from studio.portraits.galleries import toggle_favourite, toggle_like
    from studio.portraits.models import Batch, Portrait
    from studio.portraits.references import add_portrait_reference

    seed_demo(portraits_per_character=1)
    user = get_user_model().objects.get(email=DEMO_EMAIL)
    characters = list(Character.objects.filter(owner=user).order_by("pk"))
    portraits = list(Portrait.objects.filter(character__owner=user).order_by("pk"))
    for portrait in portraits[:2]:
        portrait.visibility = "public"
        portrait.save(update_fields=["visibility"])
    if not DepthDataset.objects.filter(owner=user, name=DATASET_NAME).exists():
        ingest_csv(user, DATASET_NAME, _demo_frames_csv())
    style, created = Style.objects.get_or_create(owner=user, name="Watercolour studies")
    if created:  # the rest once, like seed_demo
        toggle_like(user, portraits[0])
        toggle_favourite(user, portraits[1])
        add_portrait_reference(portraits[0])
        add_portraits(style, portraits[:3])
        _seed_jobs(user, characters)
        _seed_import_draft(user)
    batch = Batch.objects.filter(owner=user, kind=Batch.Kind.CHARACTER).latest("pk")
    draft = CharacterImport.objects.filter(owner=user, status=CharacterImport.Status.DRAFT).latest("pk")
    character = characters[0]
    studio = "studio:"
    pages = (
        Page("home", "/", signed_in=False),
        Page("login", reverse("account_login"), signed_in=False),
        Page("sign up", reverse("account_signup"), signed_in=False),
        Page("not found", "/studio/characters/999999/", status=404),
        Page("characters", reverse(studio + "character_list")),
        Page("new character", reverse(studio + "character_create")),
        Page("character form", reverse(studio + "character_edit", args=[character.pk])),
        Page("character page", reverse(studio + "character_detail", args=[character.pk])),
        Page("portrait page", reverse(studio + "portrait_detail", args=[portraits[0].pk])),
        Page("my portraits", reverse(studio + "my_gallery")),
        Page("favourites", reverse(studio + "my_gallery") + "?favourites=1"),
        Page("community", reverse(studio + "community_gallery")),
        Page("lightbox", reverse(studio + "gallery_portrait", args=[portraits[0].pk])),
        Page("stats", reverse(studio + "gallery_stats")),
        Page("queue", reverse(studio + "queue")),
        Page("batch", reverse(studio + "batch_detail", args=[batch.pk])),
        Page("quick generate", reverse(studio + "quick_generate")),
        Page("usage", reverse(studio + "usage")),
        Page("import", reverse(studio + "import_page")),
        Page("frames", reverse(studio + "frames_list")),
        Page("depth viewer", reverse(studio + "frames_dataset", args=[DATASET_NAME])),
        Page("patterns", reverse(studio + "patterns")),
        Page("style lab", reverse(studio + "style_lab")),
        Page("style", reverse(studio + "style_detail", args=[style.pk])),
        Page("profile", reverse("account_profile")),
        Page("api token", reverse("account_api_token")),
        Page("connected accounts", reverse("socialaccount_connections")),
        # Image providers is for staff: the demo user gets its 403 page.
        Page("forbidden", reverse(studio + "provider_settings"), status=403),
    )
    preview = Page("import preview", reverse(studio + "import_detail", args=[draft.pk]))
    return UxDemo(DEMO_EMAIL, DEMO_PASSWORD, (*pages, preview))


# Runs in the page: the axe-core result reduced to what a report needs.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(" ")), count: v.nodes.length}));
}"""

OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
