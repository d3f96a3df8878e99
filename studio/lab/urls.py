from __future__ import annotations

from django.urls import path

from studio.lab import views as lab

urlpatterns = [
    path("lab/patterns/", lab.patterns_page, name="patterns"),
    path("lab/patterns/preview.png", lab.pattern_preview, name="pattern_preview"),
    path("lab/patterns/create/", lab.pattern_create, name="pattern_create"),
    path("lab/styles/", lab.style_lab, name="style_lab"),
    path("lab/styles/new/", lab.style_create, name="style_create"),
    path("lab/styles/<int:pk>/", lab.style_detail, name="style_detail"),
    path("lab/styles/<int:pk>/upload/", lab.style_upload, name="style_upload"),
    path("lab/styles/<int:pk>/portraits/", lab.style_add_portraits, name="style_add_portraits"),
    path("lab/styles/<int:pk>/train/", lab.style_train, name="style_train"),
    path("lab/styles/<int:pk>/map/", lab.style_latent_map, name="style_latent_map"),
    path("lab/style-images/<int:pk>.png", lab.style_image, name="style_image"),
    path("lab/models/<int:pk>/", lab.style_model_detail, name="style_model_detail"),
    path("lab/models/<int:pk>/cancel/", lab.style_model_cancel, name="style_model_cancel"),
    path("lab/models/<int:pk>/generate/", lab.style_generate, name="style_generate"),
    path("lab/models/<int:pk>/interpolate/", lab.style_interpolate, name="style_interpolate"),
    path("lab/models/<int:pk>/interpolate/save/", lab.style_interpolate_save, name="style_interpolate_save"),
]
