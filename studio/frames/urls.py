from __future__ import annotations

from django.urls import path

from studio.frames import views as frames

urlpatterns = [
    path("frames/", frames.dataset_list, name="frames_list"),
    path("frames/upload/", frames.upload, name="frames_upload"),
    path("frames/colormaps.png", frames.colormap_swatches, name="frames_colormap_swatches"),
    path("frames/<str:name>/", frames.dataset_detail, name="frames_dataset"),
    path("frames/<str:name>/delete/", frames.delete, name="frames_delete"),
    path("frames/<str:name>/plot.png", frames.dataset_plot, name="frames_plot"),
]
