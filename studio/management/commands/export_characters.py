"""Export a user's characters to CSV or JSON."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer
from django_typer.management import TyperCommand

from studio.characters.models import Character
from studio.imports import export as import_export
from studio.management.commands.import_characters import find_owner


class Format(enum.StrEnum):
    csv = "csv"
    json = "json"


class Command(TyperCommand):
    help = "Export a user's characters to a CSV or JSON file ('-' for standard output)."

    def handle(
        self,
        file: Annotated[str, typer.Argument(help="Where to write; '-' for standard output.")],
        owner: Annotated[str, typer.Option(help="Email of the user whose characters to export.")],
        format: Annotated[Format | None, typer.Option(help="csv or json (default: from the name).")] = None,
    ) -> None:
        user = find_owner(owner)
        if format is None:
            format = Format.json if file.lower().endswith(".json") else Format.csv
        characters = Character.objects.filter(owner=user)
        total = characters.count()
        out = sys.stdout if file == "-" else Path(file).open("w", encoding="utf-8", newline="")  # noqa: SIM115
        try:
            if format is Format.json:
                out.write(import_export.export_json(characters))
            else:
                with typer.progressbar(length=total, label="Exporting", file=self.stderr._out) as bar:
                    for chunk in import_export.export_csv(characters):
                        out.write(chunk)
                        bar.update(chunk.count("\r\n"))
        finally:
            if out is not sys.stdout:
                out.close()
        if file != "-":
            self.stdout.write(f"Exported {total} character(s) to {file}.")
