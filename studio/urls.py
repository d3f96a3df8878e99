"""The studio's pages: each feature lists its own routes; one `studio:` namespace for all of them."""

from __future__ import annotations

from studio.characters import urls as characters
from studio.frames import urls as frames
from studio.imports import urls as imports
from studio.lab import urls as lab
from studio.portraits import urls as portraits

app_name = "studio"

# Imports first: its "characters/import/..." and "characters/export..." routes precede "characters/<pk>/".
urlpatterns = [
    *imports.urlpatterns,
    *characters.urlpatterns,
    *portraits.urlpatterns,
    *frames.urlpatterns,
    *lab.urlpatterns,
]
