from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

if TYPE_CHECKING:
    pass


class ImportUploadForm(forms.Form):
    """A file (CSV, JSON, PNG card or CHARX) or pasted CSV text; the import workflow checks the content."""

    file = forms.FileField(
        label="File to import",
        required=False,
        allow_empty_file=True,  # the workflow says "The file is empty." in its own words
        help_text="A CSV, a JSON export, a character card (PNG) or a CHARX (.charx).",
    )
    text = forms.CharField(
        label="Or paste CSV text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("file") and not (cleaned.get("text") or "").strip():
            raise forms.ValidationError("Choose a file or paste CSV text to import.")
        return cleaned
