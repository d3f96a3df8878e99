from __future__ import annotations

from django.urls import path

from .views import characters, frames, portraits

app_name = "studio"

urlpatterns = [
    path("characters/", characters.character_list, name="character_list"),
    path("characters/new/", characters.character_create, name="character_create"),
    path("characters/preview/", characters.character_preview, name="character_preview"),
    path("characters/<int:pk>/", characters.character_detail, name="character_detail"),
    path("characters/<int:pk>/edit/", characters.character_edit, name="character_edit"),
    path("characters/<int:pk>/delete/", characters.character_delete, name="character_delete"),
    path("characters/<int:character_pk>/generate/", portraits.portrait_generate, name="portrait_generate"),
    path("portraits/<int:pk>/", portraits.portrait_detail, name="portrait_detail"),
    path("portraits/<int:pk>/card/", portraits.portrait_card, name="portrait_card"),
    path("portraits/<int:pk>/image.png", portraits.portrait_image, name="portrait_image"),
    path("portraits/<int:pk>/thumb.webp", portraits.portrait_thumbnail, name="portrait_thumbnail"),
    path("portraits/<int:pk>/delete/", portraits.portrait_delete, name="portrait_delete"),
    path("frames/", frames.dataset_list, name="frames_list"),
    path("frames/upload/", frames.upload, name="frames_upload"),
    path("frames/<str:name>/", frames.dataset_detail, name="frames_dataset"),
    path("frames/<str:name>/delete/", frames.delete, name="frames_delete"),
]
