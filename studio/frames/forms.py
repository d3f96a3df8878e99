from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import MaxValueValidator, RegexValidator

from studio.frames import ingest

if TYPE_CHECKING:
    pass


class FrameUploadForm(forms.Form):
    """A pixel CSV upload; the file's content is validated by ingest.ingest_csv."""

    dataset = forms.CharField(
        label="Dataset name",
        max_length=100,
        validators=[RegexValidator(rf"^{ingest.DATASET_NAME_PATTERN}\Z", ingest.DATASET_NAME_HELP)],
        help_text=f"{ingest.DATASET_NAME_HELP} Uploading to an existing name replaces that dataset.",
    )
    file = forms.FileField(label="Pixel CSV", help_text="Header depth,col1,...,colN; one image line per row.")
    width = forms.IntegerField(label="Target width (pixels)", required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        width = self.fields["width"]
        width.validators.append(MaxValueValidator(ingest.max_width_setting()))
        width.widget.attrs.update(max=ingest.max_width_setting(), placeholder=ingest.target_width_setting())
        width.help_text = f"Every row is resampled to this width; {ingest.target_width_setting()} when empty."
