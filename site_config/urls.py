from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from studio.views import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("studio/", include("studio.urls")),
    path("admin/", admin.site.urls),
]
