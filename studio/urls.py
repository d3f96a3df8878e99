from __future__ import annotations

from django.urls import path

from .views import characters

app_name = "studio"

urlpatterns = [
    path("characters/", characters.character_list, name="character_list"),
]
