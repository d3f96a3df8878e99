from __future__ import annotations

from typing import Any

from django import forms

from .models import User


class BudgetFallbackForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("budget_fallback",)
        labels = {"budget_fallback": "When a job would pass my daily spend limit"}
        widgets = {"budget_fallback": forms.RadioSelect}


class CommunityCreditForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("display_name", "credit_in_community")
        help_texts = {"display_name": "How the studio names you; never your email address."}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("credit_in_community") and not cleaned.get("display_name", "").strip():
            self.add_error("display_name", "Choose a display name to be credited by.")
        return cleaned


class DeleteAccountForm(forms.Form):
    confirm_email = forms.CharField(
        label="Type your email address to confirm",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm_email(self) -> str:
        typed = self.cleaned_data["confirm_email"].strip()
        if typed.lower() != self.user.email.lower():
            raise forms.ValidationError("That is not your email address; nothing was deleted.")
        return typed
