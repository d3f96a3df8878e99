from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from studio.lab import patterns

if TYPE_CHECKING:
    pass


class BootstrapForm(forms.Form):
    """A form whose widgets carry Bootstrap's classes, for pages that render fields one by one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", css)


class PatternForm(BootstrapForm):
    """The options of one procedural pattern (studio.lab.patterns)."""

    kind = forms.ChoiceField(label="Pattern", choices=patterns.KINDS, initial="mandala")
    width = forms.IntegerField(
        label="Width (pixels)", min_value=patterns.MIN_SIDE, max_value=patterns.MAX_SIDE, initial=1024
    )
    height = forms.IntegerField(
        label="Height (pixels)", min_value=patterns.MIN_SIDE, max_value=patterns.MAX_SIDE, initial=1024
    )
    primary = forms.RegexField(
        label="Primary colour",
        regex=r"^#[0-9a-fA-F]{6}\Z",
        initial=patterns.DEFAULT_PRIMARY,
        error_messages={"invalid": "Enter a colour like #3b2a80."},
        widget=forms.TextInput(attrs={"type": "color", "class": "form-control form-control-color"}),
    )
    secondary = forms.RegexField(
        label="Secondary colour",
        regex=r"^#[0-9a-fA-F]{6}\Z",
        initial=patterns.DEFAULT_SECONDARY,
        error_messages={"invalid": "Enter a colour like #f4b942."},
        widget=forms.TextInput(attrs={"type": "color", "class": "form-control form-control-color"}),
    )
    seed = forms.IntegerField(label="Seed", min_value=0, max_value=2**31 - 1, initial=1)

    def options(self) -> patterns.PatternOptions:
        data = self.cleaned_data
        return patterns.PatternOptions(
            kind=data["kind"],
            width=data["width"],
            height=data["height"],
            primary=data["primary"].lower(),
            secondary=data["secondary"].lower(),
            seed=data["seed"],
        )

    @classmethod
    def from_query(cls, query: Any) -> PatternForm:
        """A bound form from the query string, falling back to the initial values for missing keys."""
        data = {name: field.initial for name, field in cls.base_fields.items()}
        data.update({name: query[name] for name in cls.base_fields if query.get(name)})
        return cls(data)


class StyleForm(BootstrapForm):
    name = forms.CharField(label="Style name", max_length=80)


class StyleTrainForm(BootstrapForm):
    method = forms.ChoiceField(
        label="Method",
        choices=[
            ("vae", "Variational autoencoder (steady, smooth)"),
            ("dcgan", "DCGAN (sharper, less stable)"),
        ],
        initial="vae",
    )
    image_size = forms.TypedChoiceField(
        label="Image size",
        coerce=int,
        choices=[(32, "32×32 (a quick sketch)"), (64, "64×64"), (128, "128×128 (sharper, 4× the time)")],
        initial=64,
    )
    epochs = forms.IntegerField(label="Epochs", min_value=1, max_value=500, initial=60)
    seed = forms.IntegerField(label="Seed", min_value=0, max_value=2**31 - 1, initial=0)

    def __init__(self, *args: Any, default_size: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if default_size is not None:
            self.fields["image_size"].initial = default_size

    def choice(self, name: str) -> Any:
        """The value the user picked (cleaned), or the initial one while the form is unbound or invalid."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data[name]
        return self.fields[name].initial


class StyleGenerateForm(BootstrapForm):
    count = forms.IntegerField(label="Images", min_value=1, max_value=16, initial=4)
    creativity = forms.FloatField(
        label="Creativity",
        min_value=0.1,
        max_value=3.0,
        initial=1.0,
        help_text="The scale of the latent sample: low stays close to the average image, high explores.",
        widget=forms.NumberInput(attrs={"step": "0.1"}),
    )
    seed = forms.IntegerField(label="Seed", min_value=0, max_value=2**31 - 1, required=False)


class StyleInterpolateForm(BootstrapForm):
    start = forms.IntegerField(label="From artwork")
    end = forms.IntegerField(label="To artwork")
    steps = forms.IntegerField(label="Steps", min_value=3, max_value=12, initial=6)
