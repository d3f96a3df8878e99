from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import MaxValueValidator

if TYPE_CHECKING:
    from studio.portraits.providers import Provider
    from studio.portraits.providers.base import OptionSpec


NO_PROVIDER_MESSAGE = (
    "No image provider is configured on this studio, so nothing can be generated yet: ask the studio admin "
    "to switch on the local painter or to add an image provider's API key."
)


def option_field(spec: OptionSpec) -> forms.Field:
    """The form field for one of a provider's options (see Provider.model_options); blank is not sent."""
    if spec.number is None:
        return forms.ChoiceField(
            label=spec.label,
            required=False,
            choices=[("", spec.blank_label), *spec.choices],
            help_text=spec.help_text,
        )
    field_class = forms.IntegerField if spec.number is int else forms.FloatField
    widget = forms.NumberInput(attrs={"step": spec.step}) if spec.step else None
    return field_class(
        label=spec.label,
        required=False,
        min_value=spec.min_value,
        max_value=spec.max_value,
        help_text=spec.help_text,
        widget=widget,
    )


class GeneratorForm(forms.Form):
    """Provider choices for one click of Generate; model, size, quality, style and the advanced options
    follow the chosen provider and model.

    With per_row=True (quick generate) the negative prompt and seed belong to each prompt row instead.
    """

    no_provider_message = NO_PROVIDER_MESSAGE

    provider = forms.ChoiceField(label="Provider")
    model = forms.ChoiceField(label="Model")
    size = forms.ChoiceField(label="Size")
    quality = forms.ChoiceField(label="Quality", required=False)
    count = forms.IntegerField(label="Images", min_value=1, initial=1)
    seed = forms.IntegerField(
        label="Seed",
        required=False,
        min_value=0,
        max_value=2**62,
        help_text="Blank for random; variations use seed, seed + 1, …",
    )
    negative_prompt = forms.CharField(
        label="Negative prompt", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, data: Any = None, *, initial: dict[str, Any] | None = None, per_row: bool = False):
        from django.conf import settings

        from studio.portraits.generation import default_size
        from studio.portraits.providers import get_provider, provider_choices

        super().__init__(data, initial=initial)
        choices = provider_choices()
        self.backend: Provider | None = None
        self.advanced_names: list[str] = []
        if not choices:  # nothing to offer: the form shows NO_PROVIDER_MESSAGE and never validates
            self.fields.clear()
            return
        self.fields["provider"].choices = choices
        names = [name for name, _ in choices]
        wanted = (data if data is not None else initial or {}).get(
            "provider"
        ) or settings.DEFAULT_IMAGE_PROVIDER
        self.backend = backend = get_provider(wanted if wanted in names else names[0])
        models = backend.model_choices()
        if backend.default_model not in {value for value, _ in models}:
            models.insert(0, (backend.default_model, backend.default_model))
        self.fields["model"].choices = models
        # Quality, style and the advanced options depend on the model: the chosen one, or the default.
        model = (data if data is not None else initial or {}).get("model")
        if model not in {value for value, _ in models}:
            model = backend.default_model
        sizes = list(backend.sizes)
        if default_size(backend) not in {value for value, _ in sizes}:
            sizes.insert(0, (default_size(backend), default_size(backend)))
        self.fields["size"].choices = sizes
        if qualities := backend.qualities_for(model):
            self.fields["quality"].choices = qualities
        else:
            del self.fields["quality"]
        options = backend.model_options(model)
        fields = dict(self.fields)
        self.fields.clear()
        for name, field in fields.items():
            self.fields[name] = field
            if name == "size" and options.style:
                self.fields["style"] = option_field(options.style)
        extra = {spec.name: option_field(spec) for spec in options.advanced}
        self.fields.update(extra)
        self.advanced_names = list(extra)
        self.fields["count"].max_value = settings.BATCH_MAX_IMAGES
        self.fields["count"].validators.append(MaxValueValidator(settings.BATCH_MAX_IMAGES))
        self.fields["count"].widget.attrs["max"] = settings.BATCH_MAX_IMAGES
        if per_row:
            for name in ("count", "seed", "negative_prompt"):
                del self.fields[name]
        self.initial.setdefault("provider", backend.name)
        self.initial.setdefault("model", backend.default_model)
        self.initial.setdefault("size", default_size(backend))
        for field in self.fields.values():
            css = "form-select form-select-sm" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault(
                "class", css + (" form-control-sm" if css == "form-control" else "")
            )

    def clean(self) -> dict[str, Any]:
        if self.backend is None:
            raise forms.ValidationError(NO_PROVIDER_MESSAGE)
        cleaned = super().clean()
        if cleaned.get("background") == "transparent" and cleaned.get("output_format") == "jpeg":
            self.add_error("background", "A transparent background needs PNG or WebP output, not JPEG.")
        return cleaned

    # The generator panel's groups, by what each depends on (see quick_generate.html#generator_update).
    def _bound(self, names: tuple[str, ...]) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    def provider_fields(self) -> list[forms.BoundField]:
        return self._bound(("provider",))

    def model_fields(self) -> list[forms.BoundField]:
        """What changes with the provider."""
        return self._bound(("model",))

    def model_dependent_fields(self) -> list[forms.BoundField]:
        """What changes with the provider or the model (besides the advanced options)."""
        return self._bound(("size", "style", "quality"))

    def prompt_limit(self) -> int:
        """The chosen (or default) model's prompt limit, for the generator's length meter."""
        if self.backend is None:
            return 0
        model = (self.data or self.initial).get("model") or self.backend.default_model
        return self.backend.prompt_limit(model)

    def typed_fields(self) -> list[forms.BoundField]:
        """What the user types: never re-rendered while they do."""
        return self._bound(("count", "seed", "negative_prompt"))

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.advanced_names]

    def advanced_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.advanced_names]

    def advanced_chosen(self) -> bool:
        """Whether any advanced option has a value (or an error): the section then stays open."""
        return any(self[name].value() not in (None, "") or self[name].errors for name in self.advanced_names)

    @classmethod
    def following_provider(cls, data: Any, **kwargs: Any) -> GeneratorForm:
        """A bound form where a model, size, quality or style the newly chosen provider (or model) lacks is
        reset to its default (the select changed, so the old choices no longer apply)."""
        data = data.copy()
        form = cls(data, **kwargs)
        for name, field in form.fields.items():
            if name != "provider" and isinstance(field, forms.ChoiceField):
                values = {str(value) for value, _ in field.choices}
                if data.get(name) not in values:
                    data[name] = form.initial.get(name) or next(iter(field.choices))[0]
        return cls(data, **kwargs)

    def job_options(self) -> Any:
        from studio.portraits.generation import JobOptions

        data = self.cleaned_data
        options = {name: data[name] for name in self.advanced_names if data.get(name) not in (None, "")}
        return JobOptions(
            provider=data["provider"],
            model=data["model"],
            size=data["size"],
            quality=data.get("quality", ""),
            style=data.get("style", ""),
            options=options,
        )

    def estimate_values(self) -> tuple[str, str, str]:
        """(model, quality, size) for a cost estimate from raw data, valid or not."""
        raw = self.data if self.is_bound else {}
        model = raw.get("model") or self.initial.get("model", "")
        quality = raw.get("quality", "") if "quality" in self.fields else ""
        size = raw.get("size") or self.initial.get("size", "")
        return model, quality, size
