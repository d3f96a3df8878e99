from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.html import format_html_join

from studio.characters import vocabulary
from studio.characters.models import Character, clean_name

if TYPE_CHECKING:
    pass


# The edit form's sections, in the order a person thinks about a character.
CHARACTER_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Who", ("name", "gender", "age", "age_years", "ethnicity", "body_type")),
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
    ("Details", ("description", "distinguishing_features", "negative_prompt", "notes", "visibility")),
)

# The character card's own fields (Character.card), edited in a collapsed section: name -> label.
CARD_TEXTS = {
    "personality": "Personality",
    "scenario": "Scenario",
    "first_mes": "First message",
    "mes_example": "Example messages",
    "system_prompt": "System prompt",
    "post_history_instructions": "Post-history instructions",
    "creator_notes": "Creator notes",
}
CARD_LINES = {"creator": "Creator", "character_version": "Card version"}
CARD_PREFIX = "card_"


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n")  # browsers send textarea lines as CRLF


class RepeatedTextarea(forms.Widget):
    """One textarea per item plus an empty one to add another; every textarea shares the field's name."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        return data.getlist(name) if hasattr(data, "getlist") else list(data.get(name) or [])

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> str:
        items = [*(value if isinstance(value, list) else []), ""]
        field_id = (attrs or {}).get("id", name)
        return format_html_join(
            "",
            '<textarea name="{}" id="{}" rows="3" class="form-control mb-2" aria-label="{}">\n{}</textarea>',
            (
                (
                    name,
                    field_id if index == 0 else f"{field_id}_{index}",
                    f"Alternate greeting {index + 1}",
                    item,
                )
                for index, item in enumerate(items)
            ),
        )


class CardTextField(forms.CharField):
    def to_python(self, value: Any) -> str:
        return _newlines(super().to_python(value))


class ListOfTextsField(forms.Field):
    widget = RepeatedTextarea

    def to_python(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value] if value else []
        return [_newlines(str(item)) for item in items if str(item).strip()]


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


class CharacterForm(forms.ModelForm):
    class Meta:
        model = Character
        fields = (
            "name",
            *vocabulary.NAMES,
            "age_years",
            "description",
            "distinguishing_features",
            "negative_prompt",
            "notes",
            "visibility",
        )
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
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
        self.fields["age_years"].validators.append(MaxValueValidator(vocabulary.MAX_AGE_YEARS))
        self.fields["age_years"].widget.attrs.update({"min": 0, "max": vocabulary.MAX_AGE_YEARS})
        self._add_card_fields()

    def _stored_card(self) -> dict[str, Any]:
        card = self.instance.card
        return card if isinstance(card, dict) else {}

    def _add_card_fields(self) -> None:
        card = self._stored_card()

        def text(name: str) -> str:
            value = card.get(name)
            return value if isinstance(value, str) else ""

        for name, label in CARD_TEXTS.items():
            self.fields[CARD_PREFIX + name] = CardTextField(
                label=label,
                required=False,
                strip=False,
                initial=text(name),
                widget=forms.Textarea({"rows": 3}),
            )
        greetings = card.get("alternate_greetings")
        self.fields[CARD_PREFIX + "alternate_greetings"] = ListOfTextsField(
            label="Alternate greetings",
            required=False,
            initial=[g for g in greetings if isinstance(g, str)] if isinstance(greetings, list) else [],
            help_text="One greeting per box; save to get another empty box.",
        )
        tags = card.get("tags")
        self.fields[CARD_PREFIX + "tags"] = forms.CharField(
            label="Tags",
            required=False,
            initial=", ".join(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else "",
            help_text="Separated by commas.",
        )
        for name, label in CARD_LINES.items():
            self.fields[CARD_PREFIX + name] = forms.CharField(
                label=label, required=False, max_length=200, initial=text(name)
            )

    def card_fields(self) -> list[forms.BoundField]:
        names = [*CARD_TEXTS, "alternate_greetings", "tags", *CARD_LINES]
        return [self[CARD_PREFIX + name] for name in names]

    def card_has_errors(self) -> bool:
        return any(field.errors for field in self.card_fields())

    def lorebook(self) -> dict[str, Any] | None:
        """The card's lorebook (kept as data, not edited here): its name and number of entries."""
        book = self._stored_card().get("character_book")
        if not isinstance(book, dict):
            return None
        entries = book.get("entries")
        return {"name": book.get("name") or "", "entries": len(entries) if isinstance(entries, list) else 0}

    def _card(self) -> dict[str, Any]:
        """The stored card with the form's fields; what the form did not change is kept exactly."""
        card = copy.deepcopy(self._stored_card())
        for name in (*CARD_TEXTS, *CARD_LINES):
            value = _newlines(self.cleaned_data[CARD_PREFIX + name])
            current = card.get(name)
            if value != _newlines(current if isinstance(current, str) else "") and (value or name in card):
                card[name] = value
        for name, value in (
            ("alternate_greetings", self.cleaned_data[CARD_PREFIX + "alternate_greetings"]),
            ("tags", _tags(self.cleaned_data[CARD_PREFIX + "tags"])),
        ):
            current = card.get(name)
            same = isinstance(current, list) and [_newlines(str(item)) for item in current] == value
            if not same and (value or name in card):
                card[name] = value
        if self.has_changed():
            card.pop("modification_date", None)  # the export then says when the character was saved
        return card

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in CHARACTER_SECTIONS]

    def clean_name(self) -> str:
        name = clean_name(self.cleaned_data["name"])
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
        self.instance.card = self._card()
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
    years = data.get("age_years", "").strip()
    values["age_years"] = int(years) if years.isdigit() and int(years) <= vocabulary.MAX_AGE_YEARS else None
    if values["age_years"] is not None:
        values["age"] = vocabulary.age_range(values["age_years"]) or values["age"]
    return values


class CharacterSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search characters by name", max_length=120)
