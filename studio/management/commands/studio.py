"""The studio CLI: `python manage.py studio --help`.

Every listing command takes `--json` for scripts: JSON goes to stdout alone, progress and prompts to stderr,
so `manage.py studio list-characters --json | jq` works. Errors exit non-zero with a one-line message.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F
from django_typer.management import TyperCommand, command, initialize

from studio.characters import vocabulary
from studio.characters.models import Character
from studio.characters.prompts import PromptTooLongError
from studio.deletion import delete_in_batches
from studio.portraits.demo import seed_demo
from studio.portraits.generation import (
    GenerationInputError,
    JobOptions,
    QuotaExceededError,
    check_size,
    queue_character_portraits,
)
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
from studio.portraits.providers import (
    PROVIDERS,
    ProviderError,
    UnknownProviderError,
    enabled_names,
    get_provider,
)
from studio.text import counted

JSON_HELP = "Print JSON (for scripts) instead of a table."


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain, aligned text table: no colours or box characters, so it pipes and greps cleanly."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


class Command(TyperCommand):
    help = "Manage Dali Studio from the terminal."

    @initialize()
    def init(self) -> None:
        """Manage Dali Studio from the terminal: one subcommand per task (`studio COMMAND --help`)."""

    def emit_json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, indent=2, default=str))

    # Characters.

    @command(name="list-characters")
    def list_characters(
        self,
        owner: str = typer.Option("", help="Only this user's characters (their email address)."),
        search: str = typer.Option("", help="Only names containing this text."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """List characters with their owner, version and portrait count."""
        characters = Character.objects.select_related("owner").annotate(all_portraits=Count("portraits"))
        if owner:
            if not get_user_model().objects.filter(email__iexact=owner).exists():
                raise CommandError(f"No user with the email address {owner}.")
            characters = characters.filter(owner__email__iexact=owner)
        if search:
            characters = characters.filter(name__icontains=search)
        rows = [
            {
                "id": character.pk,
                "name": character.name,
                "owner": character.owner.email,
                "version": character.version,
                "portraits": character.all_portraits,
                "visibility": character.visibility,
                "updated_at": character.updated_at.isoformat(timespec="seconds"),
            }
            for character in characters.order_by("owner__email", "name")
        ]
        if as_json:
            self.emit_json(rows)
            return
        if not rows:
            self.stdout.write("No characters.")
            return
        headers = ("id", "name", "owner", "version", "portraits", "visibility", "updated_at")
        self.stdout.write(format_table(headers, ([row[h] for h in headers] for row in rows)))

    @command(name="delete-character")
    def delete_character(
        self,
        character_id: int = typer.Argument(..., help="The character's id (see list-characters)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
    ) -> None:
        """Delete a character with all its portraits and their files."""
        character = Character.objects.select_related("owner").filter(pk=character_id).first()
        if character is None:
            raise CommandError(f"No character with id {character_id}.")
        portraits = character.portraits.count()
        summary = f"“{character.name}” of {character.owner.email} and its {counted(portraits, 'portrait')}"
        if not yes:
            try:
                confirmed = typer.confirm(f"Delete {summary}?", default=False, err=True)
            except (click.Abort, OSError):  # no terminal to ask on (end of input, captured stdin)
                confirmed = False
            if not confirmed:
                raise CommandError("Nothing deleted (answer y, or pass --yes to delete without asking).")
        with transaction.atomic():
            # The portraits a batch at a time (bounded memory; their files go with them), then the character.
            delete_in_batches(Portrait.objects.filter(character=character).only("image", "thumbnail"))
            character.delete()
        self.stdout.write(self.style.SUCCESS(f"Deleted {summary}."))

    @command(name="character-stats")
    def character_stats(self, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
        """Counts: users, characters, characters per attribute value, portraits per provider and status."""
        characters = Character.objects.all()
        by_attribute: dict[str, dict[str, int]] = {}
        for attribute in vocabulary.ATTRIBUTES:
            if attribute.multiple:
                counter: Counter[str] = Counter()
                for values in characters.values_list(attribute.name, flat=True):
                    counter.update(values or [])
            else:
                counter = Counter(
                    dict(
                        characters.exclude(**{attribute.name: ""})
                        .values_list(attribute.name)
                        .annotate(n=Count("pk"))
                        .values_list(attribute.name, "n")
                    )
                )
            by_attribute[attribute.name] = dict(counter.most_common())
        per_provider: dict[str, dict[str, int]] = {}
        for provider, status, count in (
            Portrait.objects.values_list("provider", "status").annotate(n=Count("pk")).order_by("provider")
        ):
            per_provider.setdefault(provider, {})[status] = count
        data = {
            "users": get_user_model().objects.count(),
            "characters": characters.count(),
            "portraits": Portrait.objects.count(),
            "portraits_by_provider": per_provider,
            "characters_by_attribute": by_attribute,
        }
        if as_json:
            self.emit_json(data)
            return
        self.stdout.write(
            f"{data['users']} users, {data['characters']} characters, {data['portraits']} portraits\n"
        )
        statuses = [choice for choice, _ in Portrait.Status.choices]
        self.stdout.write("Portraits per provider")
        self.stdout.write(
            format_table(
                ("provider", *statuses, "total"),
                (
                    (name, *(counts.get(s, 0) for s in statuses), sum(counts.values()))
                    for name, counts in per_provider.items()
                ),
            )
            if per_provider
            else "  none"
        )
        self.stdout.write("\nCharacters per attribute value")
        rows = [
            (attribute.label, attribute.label_of(key) or key, count)
            for attribute in vocabulary.ATTRIBUTES
            for key, count in by_attribute[attribute.name].items()
        ]
        self.stdout.write(format_table(("attribute", "value", "characters"), rows) if rows else "  none")

    # Portraits.

    @command(name="generate")
    def generate(
        self,
        character_id: int = typer.Argument(..., help="The character's id (see list-characters)."),
        provider: str = typer.Option("", help="Image provider (default: DEFAULT_IMAGE_PROVIDER)."),
        model: str = typer.Option("", help="Model of that provider (default: its configured model)."),
        count: int = typer.Option(1, min=1, help="How many variations (at most BATCH_MAX_IMAGES)."),
        size: str = typer.Option("", help="WIDTHxHEIGHT, e.g. 1024x1536."),
        wait: bool = typer.Option(
            False, "--wait", help="Paint them in this process, with a progress bar, instead of the worker."
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Queue portraits of a character for the worker (or paint them here with --wait)."""
        character = Character.objects.filter(pk=character_id).first()
        if character is None:
            raise CommandError(f"No character with id {character_id}.")
        name = provider or settings.DEFAULT_IMAGE_PROVIDER
        try:
            backend = get_provider(name)
        except UnknownProviderError as error:
            raise CommandError(str(error)) from None
        if not backend.is_configured():
            raise CommandError(f"{backend.label} is not configured: set {backend.key_setting}.")
        options = JobOptions(provider=name, model=model, size=size)
        try:
            if size:
                check_size(backend, size)
            portraits = queue_character_portraits(character, options, count=count)
        except (PromptTooLongError, GenerationInputError, QuotaExceededError) as error:
            raise CommandError(str(error)) from None
        if portraits.budget_notice:
            typer.echo(portraits.budget_notice, err=True)
        if wait:
            with typer.progressbar(portraits, label="Painting", file=sys.stderr) as progress:
                for portrait in progress:
                    run_portrait_job(portrait.pk)
            for portrait in portraits:
                portrait.refresh_from_db()
        rows = [
            {
                "id": p.pk,
                "status": p.status,
                "provider": p.provider,
                "model": p.model,
                "error": p.error_message,
            }
            for p in portraits
        ]
        if as_json:
            self.emit_json(rows)
        else:
            verb = "Painted" if wait else "Queued"
            label = f"{backend.label} ({portraits[0].model})"
            self.stdout.write(f"{verb} {counted(count, 'portrait')} of “{character.name}” with {label}:")
            self.stdout.write(
                format_table(("id", "status", "error"), ((r["id"], r["status"], r["error"]) for r in rows))
            )
        if wait and any(p.status == Portrait.Status.FAILED for p in portraits):
            raise CommandError("Some portraits failed; see the error column.")

    @command(name="check-providers")
    def check_providers(
        self,
        offline: bool = typer.Option(False, "--offline", help="Do not call the providers' APIs."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Show which image providers have keys, which models they offer and any shutdown dates.

        Exits with status 1 when the default provider cannot run or a configured model is shut down.
        """
        enabled = enabled_names()
        results = []
        for name in PROVIDERS:
            row: dict[str, Any] = {
                "provider": name,
                "enabled": name in enabled,
                "default": name == settings.DEFAULT_IMAGE_PROVIDER,
            }
            if name not in enabled:
                row.update(configured=False, key="-", model="", models=[], problems=[], warnings=[])
                results.append(row)
                continue
            backend = get_provider(name)
            problems: list[str] = []
            warnings: list[str] = []
            row.update(
                label=backend.label,
                configured=backend.is_configured(),
                key=("present" if backend.api_key else "missing") if backend.key_setting else "not needed",
                key_setting=backend.key_setting,
                model=backend.default_model,
                models=[value for value, _ in backend.models],
            )
            if retired := backend.retirement_message():
                row["retired"] = retired
                problems.append(f"{backend.model_setting}: {retired}")
            if backend.is_configured() and not offline and hasattr(backend, "list_image_models"):
                try:
                    listing = backend.list_image_models()
                except ProviderError as error:
                    problems.append(f"listing models failed: {error.message}")
                else:
                    row["models"] = listing.ids
                    row["shutdown_dates"] = {m.id: m.shutdown_date for m in listing.models if m.shutdown_date}
                    warnings.extend(listing.warnings)
            if row["default"] and not backend.is_configured():
                problems.append(f"it is DEFAULT_IMAGE_PROVIDER but {backend.key_setting} is not set")
            row.update(problems=problems, warnings=warnings)
            results.append(row)
        name_missing = settings.DEFAULT_IMAGE_PROVIDER not in enabled
        failed = name_missing or any(
            row["problems"] for row in results if row["configured"] or row["default"]
        )
        if as_json:
            self.emit_json({"ok": not failed, "providers": results})
        else:
            self.stdout.write(
                format_table(
                    ("provider", "enabled", "key", "default model", "models"),
                    (
                        (
                            row["provider"] + (" (default)" if row["default"] else ""),
                            "yes" if row["enabled"] else "no",
                            row["key"],
                            row["model"],
                            ", ".join(row["models"]),
                        )
                        for row in results
                    ),
                )
            )
            for row in results:
                for warning in row["warnings"]:
                    self.stdout.write(self.style.WARNING(f"warning: {row['provider']}: {warning}"))
                for problem in row["problems"]:
                    self.stdout.write(self.style.ERROR(f"problem: {row['provider']}: {problem}"))
        if name_missing:
            raise CommandError(
                f"DEFAULT_IMAGE_PROVIDER is {settings.DEFAULT_IMAGE_PROVIDER!r}, which is not enabled."
            )
        if failed:
            raise CommandError("Some providers have problems (see above).")

    # Data.

    @command(name="seed-demo")
    def seed_demo_command(
        self,
        portraits: int = typer.Option(2, help="Portraits to paint per demo character."),
        host: str = typer.Option("127.0.0.1", help="Host the web server listens on (for the login line)."),
        port: int = typer.Option(8000, help="Port the web server listens on (for the login line)."),
    ) -> None:
        """Create the demo user with a few characters and portraits (does nothing if it exists)."""
        result = seed_demo(portraits_per_character=portraits)
        if result.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data created: {result.characters} characters, {result.portraits} portraits."
                )
            )
        else:
            self.stdout.write("Demo data already present.")
        self.stdout.write(f"Log in at http://{host}:{port}/ as {result.email} / {result.password}")

    @command(name="seed-portraits")
    def seed_portraits_command(
        self,
        count: int = typer.Argument(..., min=1, help="How many synthetic portraits to create."),
        user: str = typer.Option(..., "--user", help="Email of the user who will own them."),
        characters: int = typer.Option(6, min=1, help="Characters to spread them over."),
        public: float = typer.Option(0.2, min=0.0, max=1.0, help="Fraction made public (community)."),
    ) -> None:
        """Create N synthetic finished portraits fast (bulk inserts; they share a few real image files)."""
        from django.contrib.auth import get_user_model

        from studio.portraits.seeding import seed_portraits

        owner = get_user_model().objects.filter(email__iexact=user).first()
        if owner is None:
            raise CommandError(f"No user with the email {user!r}. Sign up first or run `studio seed-demo`.")
        created = seed_portraits(owner, count, characters=characters, public_fraction=public)
        self.stdout.write(self.style.SUCCESS(f"Created {created} portraits for {owner.email}."))

    @command(name="recover-jobs")
    def recover_jobs_command(self) -> None:
        """Pick up portrait jobs whose worker died: re-queue free ones, fail paid ones as interrupted."""
        from studio.portraits.tasks import recover_expired_jobs

        recovery = recover_expired_jobs()
        self.stdout.write(
            f"Re-queued {len(recovery.requeued)} job(s); "
            f"marked {len(recovery.interrupted)} paid job(s) interrupted (the user can retry them); "
            f"sent {len(recovery.resent)} queued job(s) again whose task a worker lost before starting them."
        )

    @command(name="recount-portraits")
    def recount_portraits_command(
        self,
        user: Annotated[
            str | None, typer.Option("--user", help="Only this user's characters (email).")
        ] = None,
    ) -> None:
        """Check every character's stored portrait count against its portraits and fix those that differ."""
        from studio.portraits.counts import painted_count, refresh_portrait_counts

        characters = Character.objects.all()
        if user is not None:
            owner = get_user_model().objects.filter(email__iexact=user).first()
            if owner is None:
                raise CommandError(f"No user with the email {user!r}.")
            characters = characters.filter(owner=owner)
        checked = characters.count()
        wrong = list(
            characters.annotate(painted=painted_count())
            .exclude(portrait_count=F("painted"))
            .values_list("pk", flat=True)
        )
        refresh_portrait_counts(wrong)
        checked_text = f"Checked {counted(checked, 'character')}"
        if wrong:
            fixed = f"{counted(len(wrong), 'count')} {'was' if len(wrong) == 1 else 'were'} wrong"
            self.stdout.write(self.style.WARNING(f"{checked_text}: {fixed}, now fixed."))
        else:
            self.stdout.write(f"{checked_text}: every portrait count is right.")

    @command(name="import")
    def import_command(
        self,
        file: Annotated[Path, typer.Argument(help="The CSV, JSON or PNG character card to import.")],
        owner: Annotated[str, typer.Option(help="Email of the user who will own the characters.")],
        all_or_nothing: Annotated[
            bool, typer.Option("--all-or-nothing", help="Import nothing if a row is invalid.")
        ] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; save nothing.")] = False,
        rejected: Annotated[
            Path | None, typer.Option(help="Write rejected rows, with an error column, here.")
        ] = None,
    ) -> None:
        """Import characters (same validation as the web import; see `import_characters --help`)."""
        args = [str(file), "--owner", owner]
        args += ["--all-or-nothing"] * all_or_nothing + ["--dry-run"] * dry_run
        if rejected:
            args += ["--rejected", str(rejected)]
        call_command("import_characters", *args, stdout=self.stdout, stderr=self.stderr)

    @command(name="export")
    def export_command(
        self,
        file: Annotated[str, typer.Argument(help="Where to write; '-' for standard output.")],
        owner: Annotated[str, typer.Option(help="Email of the user whose characters to export.")],
        format: Annotated[str | None, typer.Option(help="csv or json (default: from the file name).")] = None,
    ) -> None:
        """Export a user's characters as CSV or JSON (see `export_characters --help`)."""
        args = [file, "--owner", owner] + (["--format", format] if format else [])
        call_command("export_characters", *args, stdout=self.stdout, stderr=self.stderr)
