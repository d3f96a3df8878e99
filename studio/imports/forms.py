from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

if TYPE_CHECKING:
    pass


class ImportUploadForm(forms.Form):
    """A file (CSV, JSON or PNG card) or pasted CSV text; the content is checked by the import workflow."""

    file = forms.FileField(
        label="File to import",
        required=False,
        allow_empty_file=True,  # the workflow says "The file is empty." in its own words
        help_text="A CSV, a JSON export or a character card (PNG).",
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
