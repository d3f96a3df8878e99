from __future__ import annotations

from django.urls import path

from .views import characters, frames, imports, portraits

app_name = "studio"

urlpatterns = [
    path("characters/", characters.character_list, name="character_list"),
    path("characters/new/", characters.character_create, name="character_create"),
    path("characters/preview/", characters.character_preview, name="character_preview"),
    path("characters/export.csv", imports.export_csv, name="character_export_csv"),
    path("characters/export.json", imports.export_json, name="character_export_json"),
    path("characters/import/", imports.import_page, name="import_page"),
    path("characters/import/upload/", imports.import_upload, name="import_upload"),
    path("characters/import/<int:pk>/", imports.import_detail, name="import_detail"),
    path("characters/import/<int:pk>/remap/", imports.import_remap, name="import_remap"),
    path("characters/import/<int:pk>/commit/", imports.import_commit, name="import_commit"),
    path("characters/import/<int:pk>/rejected.csv", imports.import_rejected, name="import_rejected"),
    path("characters/import/<int:pk>/portraits/", imports.import_portraits, name="import_portraits"),
    path("characters/<int:pk>/", characters.character_detail, name="character_detail"),
    path("characters/<int:pk>/card.png", imports.character_card, name="character_card"),
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
