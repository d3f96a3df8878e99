from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from studio import health, pages

# The admin signs in through the site's login page, so it shares its rate limits and locks (allauth's
# documented protection: Django's own admin login form is not rate limited at all).
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", pages.home, name="home"),
    path("samples/<int:index>.webp", pages.sample_portrait, name="landing_sample"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/profile/", account_views.profile, name="account_profile"),
    path("accounts/profile/export.json", account_views.export_characters, name="account_export"),
    path("accounts/profile/paint-on-save/", account_views.paint_on_save, name="account_paint_on_save"),
    path("accounts/profile/delete/", account_views.delete_account, name="account_delete"),
    path("accounts/profile/budget/", account_views.budget_fallback, name="account_budget"),
    path("accounts/token/", account_views.api_token, name="account_api_token"),
    path("accounts/", include("allauth.urls")),
    path("studio/", include("studio.urls")),
    path("api/", include("studio.frames.api_urls")),
    path("admin/", admin.site.urls),
]

handler400 = "studio.errors.bad_request"
handler403 = "studio.errors.permission_denied"
handler404 = "studio.errors.page_not_found"
handler500 = "studio.errors.server_error"
