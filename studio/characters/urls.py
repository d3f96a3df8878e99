from __future__ import annotations

from django.urls import path

from studio.characters import views as characters

urlpatterns = [
    path("characters/", characters.character_list, name="character_list"),
    path("characters/new/", characters.character_create, name="character_create"),
    path("characters/preview/", characters.character_preview, name="character_preview"),
    path("characters/<int:pk>/edit/", characters.character_edit, name="character_edit"),
    path("characters/<int:pk>/delete/", characters.character_delete, name="character_delete"),
]
