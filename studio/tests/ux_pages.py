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


def seed_ux_demo() -> UxDemo:
    """The demo account (`studio seed-demo`), two public portraits, a depth dataset and a style; its pages."""
    from studio.characters.models import Character
    from studio.frames.ingest import ingest_csv
    from studio.frames.models import DepthDataset
    from studio.lab.models import Style
    from studio.portraits.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
    from studio.portraits.models import Portrait

    seed_demo(portraits_per_character=1)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(email=DEMO_EMAIL)
    portraits = list(Portrait.objects.filter(character__owner=user).order_by("pk"))
    for portrait in portraits[:2]:
        portrait.visibility = "public"
        portrait.save(update_fields=["visibility"])
    if not DepthDataset.objects.filter(owner=user, name=DATASET_NAME).exists():
        ingest_csv(user, DATASET_NAME, _demo_frames_csv())
    Style.objects.get_or_create(owner=user, name="Watercolour studies")
    character = Character.objects.filter(owner=user).order_by("pk").first()
    studio = "studio:"
    pages = (
        Page("home", "/", signed_in=False),
        Page("login", reverse("account_login"), signed_in=False),
        Page("sign up", reverse("account_signup"), signed_in=False),
        Page("characters", reverse(studio + "character_list")),
        Page("character form", reverse(studio + "character_edit", args=[character.pk])),
        Page("character page", reverse(studio + "character_detail", args=[character.pk])),
        Page("my portraits", reverse(studio + "my_gallery")),
        Page("community", reverse(studio + "community_gallery")),
        Page("lightbox", reverse(studio + "gallery_portrait", args=[portraits[0].pk])),
        Page("queue", reverse(studio + "queue")),
        Page("quick generate", reverse(studio + "quick_generate")),
        Page("usage", reverse(studio + "usage")),
        Page("import", reverse(studio + "import_page")),
        Page("frames", reverse(studio + "frames_list")),
        Page("depth viewer", reverse(studio + "frames_dataset", args=[DATASET_NAME])),
        Page("patterns", reverse(studio + "patterns")),
        Page("style lab", reverse(studio + "style_lab")),
        Page("profile", reverse("account_profile")),
    )
    return UxDemo(DEMO_EMAIL, DEMO_PASSWORD, pages)


# Runs in the page: the axe-core result reduced to what a report needs.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(" ")), count: v.nodes.length}));
}"""

OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
