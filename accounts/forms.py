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
