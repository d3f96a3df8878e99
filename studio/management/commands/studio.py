"""The studio CLI: `python manage.py studio --help`."""

from __future__ import annotations

import typer
from django.core.management import CommandError
from django_typer.management import TyperCommand, command, initialize

from studio.demo import seed_demo


class Command(TyperCommand):
    help = "Manage Dali Studio from the terminal."

    @initialize()
    def init(self) -> None:
        """Manage Dali Studio from the terminal: one subcommand per task."""

    @command(name="seed-demo")
    def seed_demo_command(
        self,
        portraits: int = typer.Option(2, help="Portraits to paint per demo character."),
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
        self.stdout.write(f"Log in at http://127.0.0.1:8000 as {result.email} / {result.password}")

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

        from studio.seeding import seed_portraits

        owner = get_user_model().objects.filter(email__iexact=user).first()
        if owner is None:
            raise CommandError(f"No user with the email {user!r}. Sign up first or run `studio seed-demo`.")
        created = seed_portraits(owner, count, characters=characters, public_fraction=public)
        self.stdout.write(self.style.SUCCESS(f"Created {created} portraits for {owner.email}."))

    @command(name="recover-jobs")
    def recover_jobs_command(self) -> None:
        """Pick up portrait jobs whose worker died: re-queue free ones, fail paid ones as interrupted."""
        from studio.generation import recover_expired_jobs

        recovery = recover_expired_jobs()
        self.stdout.write(
            f"Re-queued {len(recovery.requeued)} job(s); "
            f"marked {len(recovery.interrupted)} paid job(s) interrupted (the user can retry them)."
        )
