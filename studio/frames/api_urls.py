from __future__ import annotations

from django.urls import path

from studio.frames import api

app_name = "api"

urlpatterns = [
    path("frames/", api.frames_datasets, name="frames_datasets"),
    path("frames/upload-csv/", api.frames_upload_csv, name="frames_upload_csv"),
    path("frames/<str:dataset>/images/", api.frames_images, name="frames_images"),
    path("frames/<str:dataset>/image.png", api.frames_image_png, name="frames_image_png"),
]
