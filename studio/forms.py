from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import MaxValueValidator, RegexValidator

from . import frames, patterns, vocabulary
from .models import Character

if TYPE_CHECKING:
    from .providers import Provider

# The edit form's sections, in the order a person thinks about a character.
CHARACTER_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Who", ("name", "gender", "age", "ethnicity", "body_type")),
    ("Face and hair", ("skin_tone", "eye_color", "hair_color", "hair_style", "facial_hair")),
    ("Clothing", ("clothing", "clothing_color", "clothing_style", "accessories")),
    ("Expression and pose", ("expression", "pose")),
    (
        "Image",
        (
            "art_style",
            "texture",
            "dominant_colors",
            "contrast",
            "shading",
            "lighting",
            "background",
            "camera",
            "lens",
        ),
    ),
    ("Details", ("distinguishing_features", "negative_prompt", "notes", "visibility")),
)


class CharacterForm(forms.ModelForm):
    class Meta:
        model = Character
        fields = (
            "name",
            *vocabulary.NAMES,
            "distinguishing_features",
            "negative_prompt",
            "notes",
            "visibility",
        )
        widgets = {
            "distinguishing_features": forms.Textarea(attrs={"rows": 2}),
            "negative_prompt": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, owner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        for attribute in vocabulary.ATTRIBUTES:
            if attribute.multiple:
                self.fields[attribute.name] = forms.MultipleChoiceField(
                    label=attribute.label,
                    choices=attribute.field_choices,
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                    help_text=attribute.help_text,
                )
            else:
                self.fields[attribute.name].choices = [("", "— any —"), *attribute.field_choices]
        self.fields["name"].widget.attrs.update({"autofocus": True, "autocomplete": "off"})

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in CHARACTER_SECTIONS]

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the character a name.")
        clash = Character.objects.filter(owner=self.owner, name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("You already have a character with this name.")
        return name

    def save(self, commit: bool = True) -> Character:
        self.instance.owner = self.owner
        return super().save(commit=commit)


def preview_values(data: Any) -> dict[str, Any]:
    """Attribute values from raw (possibly invalid) form data, keeping only vocabulary keys.

    The live preview runs on every keystroke, so it must not require a valid form.
    """
    values: dict[str, Any] = {}
    for attribute in vocabulary.ATTRIBUTES:
        if attribute.multiple:
            values[attribute.name] = [key for key in data.getlist(attribute.name) if attribute.get(key)]
        else:
            key = data.get(attribute.name, "")
            values[attribute.name] = key if attribute.get(key) else ""
    for name in ("distinguishing_features", "negative_prompt"):
        values[name] = data.get(name, "")[:2000]
    return values


class CharacterSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search characters by name", max_length=120)


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


class FrameUploadForm(forms.Form):
    """A pixel CSV upload; the file's content is validated by frames.ingest_csv."""

    dataset = forms.CharField(
        label="Dataset name",
        max_length=100,
        validators=[RegexValidator(rf"^{frames.DATASET_NAME_PATTERN}\Z", frames.DATASET_NAME_HELP)],
        help_text=f"{frames.DATASET_NAME_HELP} Uploading to an existing name replaces that dataset.",
    )
    file = forms.FileField(label="Pixel CSV", help_text="Header depth,col1,...,colN; one image line per row.")
    width = forms.IntegerField(label="Target width (pixels)", required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        width = self.fields["width"]
        width.validators.append(MaxValueValidator(frames.max_width_setting()))
        width.widget.attrs.update(max=frames.max_width_setting(), placeholder=frames.target_width_setting())
        width.help_text = f"Every row is resampled to this width; {frames.target_width_setting()} when empty."


NO_PROVIDER_MESSAGE = (
    "No image provider is configured on this studio, so nothing can be generated yet: ask the studio admin "
    "to switch on the local painter or to add an image provider's API key."
)


def style_field(backend: Provider, model: str) -> forms.ChoiceField | None:
    """The style choice the provider's model takes, if any: DALL·E 3's style, Stability Core's preset."""
    if backend.name == "openai":
        from .providers.openai_images import family_of

        styles = family_of(model).styles
        if not styles:
            return None
        return forms.ChoiceField(
            label="Style",
            required=False,
            choices=[("", "Default (vivid)"), *((style, style.capitalize()) for style in styles)],
            help_text="Vivid leans dramatic; natural looks less hyper-real.",
        )
    if backend.name == "stability" and model == "core":  # the other Stability models take no preset
        return forms.ChoiceField(
            label="Style preset", required=False, choices=[("", "None"), *backend.styles]
        )
    return None


def advanced_fields(backend: Provider, model: str) -> dict[str, forms.Field]:
    """Provider-specific options (GenerationRequest.options) for the model's family; blank means the
    provider's default and is not sent. The providers check the values again."""
    if backend.name == "openai":
        from .providers.openai_images import GPT_IMAGE_OPTIONS, family_of

        if family_of(model).legacy:  # DALL·E takes none of these
            return {}
        labels = {"background": "Background", "moderation": "Moderation", "output_format": "Output format"}
        help_texts = {
            "background": "Transparent needs PNG or WebP output.",
            "output_format": "What OpenAI sends; the studio stores every portrait as PNG.",
        }
        return {
            name: forms.ChoiceField(
                label=labels[name],
                required=False,
                choices=[("", default_label), *rest],  # blank: the API's default, not sent
                help_text=help_texts.get(name, ""),
            )
            for name, ((_default, default_label), *rest) in GPT_IMAGE_OPTIONS.items()
        }
    if backend.name == "huggingface":
        return {
            "num_inference_steps": forms.IntegerField(
                label="Steps",
                required=False,
                min_value=1,
                max_value=100,
                help_text="Blank for the model's default; FLUX.1 [schnell] needs only 1–4.",
            ),
            "guidance_scale": forms.FloatField(
                label="Guidance scale",
                required=False,
                min_value=0,
                max_value=30,
                help_text="How closely the image follows the prompt; blank for the model's default.",
                widget=forms.NumberInput(attrs={"step": "0.5"}),
            ),
        }
    return {}


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

        from .generation import default_size
        from .providers import get_provider, provider_choices

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
        models = list(backend.models)
        if backend.default_model not in {value for value, _ in models}:
            models.insert(0, (backend.default_model, backend.default_model))
        self.fields["model"].choices = models
        sizes = list(backend.sizes)
        if default_size(backend) not in {value for value, _ in sizes}:
            sizes.insert(0, (default_size(backend), default_size(backend)))
        self.fields["size"].choices = sizes
        if backend.qualities:
            self.fields["quality"].choices = list(backend.qualities)
        else:
            del self.fields["quality"]
        # Style and the advanced options depend on the model family: the chosen model, or the default.
        model = (data if data is not None else initial or {}).get("model")
        if model not in {value for value, _ in models}:
            model = backend.default_model
        fields = dict(self.fields)
        self.fields.clear()
        for name, field in fields.items():
            self.fields[name] = field
            if name == "size" and (style := style_field(backend, model)):
                self.fields["style"] = style
        extra = advanced_fields(backend, model)
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
        from .generation import JobOptions

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


class BootstrapForm(forms.Form):
    """A form whose widgets carry Bootstrap's classes, for pages that render fields one by one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", css)


class PatternForm(BootstrapForm):
    """The options of one procedural pattern (studio.patterns)."""

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
