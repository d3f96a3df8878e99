"""Import characters from a CSV, JSON, PNG card or CHARX file, with the same validation as the web importer
(a card's images become its character's portraits)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from django.contrib.auth import get_user_model
from django.core.management import CommandError
from django.db import transaction
from django_typer.management import TyperCommand

from studio.imports import cards
from studio.imports import commit as import_commit
from studio.imports import export as import_export
from studio.imports import mapping as import_mapping
from studio.imports import rows as import_rows
from studio.imports import sources as import_sources
from studio.text import counted


class _DryRun(Exception):
    """Rolls a dry run's import back."""


def find_owner(email: str):
    try:
        return get_user_model().objects.get(email__iexact=email)
    except get_user_model().DoesNotExist:
        raise CommandError(f"No user with the email {email}.", returncode=2) from None


class Command(TyperCommand):
    help = "Import characters from a CSV, JSON, PNG character card or CHARX (a card's images as portraits)."

    def handle(
        self,
        file: Annotated[Path, typer.Argument(help="The CSV, JSON, PNG card or CHARX file to import.")],
        owner: Annotated[str, typer.Option(help="Email of the user who will own the characters.")],
        all_or_nothing: Annotated[
            bool, typer.Option("--all-or-nothing", help="Import nothing if any row is invalid.")
        ] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; save nothing.")] = False,
        rejected: Annotated[
            Path | None, typer.Option(help="Write the rejected rows, with an error column, to this CSV.")
        ] = None,
    ) -> None:
        user = find_owner(owner)
        if not file.is_file():
            raise CommandError(f"{file} is not a file.", returncode=2)
        try:
            import_sources.check_size(file.stat().st_size, cards.upload_limit(file.name))
            with file.open("rb") as source:
                kind = import_sources.detect_format(source, file.name)  # as the web importer decides
            if dry_run and rejected and kind in (import_sources.CSV, import_sources.JSON):
                suffix = ".json" if kind == import_sources.JSON else ".csv"
                self._write_rejected(self._rolled_back_import(file, user, suffix, all_or_nothing), rejected)
            if kind in (import_sources.CARD, import_sources.CHARX):
                report = self._card(file, kind, user, dry_run)
            elif kind == import_sources.JSON:
                report = self._json(file, user, dry_run, all_or_nothing)
            else:
                report = self._csv(file, user, dry_run, all_or_nothing)
        except import_sources.ImportProblem as problem:
            raise CommandError(problem.message, returncode=2) from None
        if report is None:
            return
        self.stdout.write(
            f"Created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
            f"invalid {report.invalid}."
        )
        for note in report.notes:
            self.stdout.write(note)
        if report.card_summary:
            self.stdout.write(report.card_summary)
        for note in report.portrait_notes:
            self.stderr.write(note)
        if report.message:
            self.stderr.write(report.message)
        for row in report.rejected[:20]:
            self.stderr.write(f"line {row.line}: {row.error}")
        self._write_rejected(report, rejected)
        if report.invalid or not report.committed:
            verb = "was" if report.invalid == 1 else "were"
            raise CommandError(f"{counted(report.invalid, 'row')} {verb} rejected.", returncode=1)

    def _write_rejected(self, report: import_commit.ImportReport, rejected: Path | None) -> None:
        if rejected and report.rejected:
            rejected.write_text(import_export.rejected_rows_csv(report), encoding="utf-8")
            self.stderr.write(f"Rejected rows written to {rejected}.")

    def _rolled_back_import(
        self, file: Path, user, suffix: str, all_or_nothing: bool
    ) -> import_commit.ImportReport:
        """What a real import would reject, with every cell as written: the import itself, in a transaction
        that is rolled back (a preview keeps only a window of rows)."""
        reports: list[import_commit.ImportReport] = []
        try:
            with transaction.atomic():
                if suffix == ".json":
                    records = import_rows.parse_json(file.read_bytes())
                    reports.append(import_commit.import_records(records, user, all_or_nothing=all_or_nothing))
                else:
                    with file.open("rb") as source:
                        reports.append(import_commit.commit(source, user, all_or_nothing=all_or_nothing))
                raise _DryRun
        except _DryRun:
            pass
        return reports[0]

    def _csv(
        self, file: Path, user, dry_run: bool, all_or_nothing: bool
    ) -> import_commit.ImportReport | None:
        with file.open("rb") as source:
            if dry_run:
                result = import_rows.preview(source, user)
                counts = result.counts
                self.stdout.write(
                    f"Would create {counts['new']}, update {counts['update']}, leave {counts['unchanged']} "
                    f"unchanged; {counts['invalid']} invalid (encoding {result.encoding}, "
                    f"{result.delimiter_name}-separated)."
                )
                self._ignored(result.mapping)
                for row in result.rows:
                    if row.errors:
                        self.stderr.write(f"line {row.line}: {row.error_text}")
                    elif row.note:
                        self.stdout.write(row.note)
                if counts["invalid"]:
                    verb = "is" if counts["invalid"] == 1 else "are"
                    raise CommandError(f"{counted(counts['invalid'], 'row')} {verb} invalid.", returncode=1)
                return None
            self._ignored(import_rows.parse_csv(source).mapping)
            total = import_rows.count_rows(source)
            with typer.progressbar(length=total, label="Importing", file=self.stderr._out) as bar:
                done = 0

                def progress(processed: int, _total: int) -> None:
                    nonlocal done
                    bar.update(processed - done)
                    done = processed

                return import_commit.commit(source, user, all_or_nothing=all_or_nothing, progress=progress)

    def _ignored(self, mapping: import_mapping.ColumnMapping) -> None:
        if mapping.unknown:
            self.stdout.write("Ignored columns: " + ", ".join(mapping.unknown))

    def _json(
        self, file: Path, user, dry_run: bool, all_or_nothing: bool
    ) -> import_commit.ImportReport | None:
        records = import_rows.parse_json(file.read_bytes())
        if dry_run:
            result = import_rows.preview_records(records, user)
            invalid = result.counts["invalid"]
            self.stdout.write(f"{counted(len(records), 'record')}, {invalid} invalid.")
            for row in result.rows:
                if row.errors:
                    self.stderr.write(f"line {row.line}: {row.error_text}")
                elif row.note:
                    self.stdout.write(row.note)
            if invalid:
                verb = "is" if invalid == 1 else "are"
                raise CommandError(f"{counted(invalid, 'record')} {verb} invalid.", returncode=1)
            return None
        with typer.progressbar(length=len(records), label="Importing", file=self.stderr._out) as bar:
            done = 0

            def progress(processed: int, _total: int) -> None:
                nonlocal done
                bar.update(processed - done)
                done = processed

            return import_commit.import_records(
                records, user, all_or_nothing=all_or_nothing, progress=progress
            )

    def _card(self, file: Path, kind: str, user, dry_run: bool) -> import_commit.ImportReport | None:
        """The card's character, and its images as the character's portraits (as the web import does)."""
        with file.open("rb") as source:
            if not dry_run:
                return cards.import_card_file(source, kind, user, name=file.name)
            card, images = cards.read_card_file(source, kind)
        record = cards.card_record(card)
        self.stdout.write(
            f"Card for {record.get('name') or '(no name)'} with {counted(images, 'image')} to import as "
            "portraits."
        )
        return None
