from __future__ import annotations

from django.urls import path

from studio.imports import views as imports

urlpatterns = [
    path("characters/export.csv", imports.export_csv, name="character_export_csv"),
    path("characters/export.json", imports.export_json, name="character_export_json"),
    path("characters/import/", imports.import_page, name="import_page"),
    path("characters/import/upload/", imports.import_upload, name="import_upload"),
    path("characters/import/<int:pk>/", imports.import_detail, name="import_detail"),
    path("characters/import/<int:pk>/remap/", imports.import_remap, name="import_remap"),
    path("characters/import/<int:pk>/commit/", imports.import_commit, name="import_commit"),
    path("characters/import/<int:pk>/rejected.csv", imports.import_rejected, name="import_rejected"),
    path("characters/import/<int:pk>/portraits/", imports.import_portraits, name="import_portraits"),
    path("characters/<int:pk>/card.png", imports.character_card, name="character_card"),
    path("characters/<int:pk>/card.charx", imports.character_charx, name="character_charx"),
]
