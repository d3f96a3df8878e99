"""The studio CLI: `python manage.py studio --help`."""

from __future__ import annotations

import typer
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
