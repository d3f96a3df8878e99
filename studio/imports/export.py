"""Character export (CSV cells neutralised against formulas, JSON) and the rejected-rows CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from studio.characters.models import Character
from studio.imports.commit import ImportReport
from studio.imports.mapping import EXPORT_FIELDS, RECORD_FIELDS, neutralise


def rejected_rows_csv(report: ImportReport) -> str:
    """The rejected rows with their original columns plus an "error" column, to fix and re-import."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    headers = [header for header in report.headers if header.casefold() != "error"]
    error_index = next((i for i, h in enumerate(report.headers) if h.casefold() == "error"), None)
    writer.writerow([*(neutralise(header) for header in headers), "error"])
    width = len(report.headers)
    for row in report.rejected:
        cells = [*row.cells[:width], *[""] * (width - len(row.cells))]
        if error_index is not None:
            del cells[error_index]
        writer.writerow([*(neutralise(cell) for cell in cells), neutralise(row.error)])
    return buffer.getvalue()


# --- export ---------------------------------------------------------------------------------------------


def _export_cell(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if value is None:
        return ""
    return neutralise(str(value))


def export_csv(queryset: Any) -> Iterator[str]:
    """CSV text in chunks (header first), suitable for a StreamingHttpResponse."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    rows = queryset.order_by("name", "id").values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
    for index, record in enumerate(rows, start=1):
        writer.writerow([_export_cell(value) for value in record])
        if index % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


JSON_FORMAT = "dali-studio/characters"
JSON_FIELDS: tuple[str, ...] = ("id", *RECORD_FIELDS)  # the CSV's columns plus the card's data


def character_record(character: Character) -> dict[str, Any]:
    return {name: getattr(character, name) for name in JSON_FIELDS}


def export_json(queryset: Any) -> str:
    records = [
        dict(zip(JSON_FIELDS, values, strict=True))
        for values in queryset.order_by("name", "id").values_list(*JSON_FIELDS).iterator(chunk_size=2000)
    ]
    return json.dumps(
        {"format": JSON_FORMAT, "version": 1, "characters": records}, ensure_ascii=False, indent=2
    )
