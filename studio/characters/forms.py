from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from studio.characters import vocabulary
from studio.characters.models import Character

if TYPE_CHECKING:
    pass


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
