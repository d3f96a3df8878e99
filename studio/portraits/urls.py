from __future__ import annotations

from django.urls import path

from studio.portraits.views import character_page, galleries, generate, portraits, provider_settings, queue

urlpatterns = [
    path("characters/<int:pk>/", character_page.character_detail, name="character_detail"),
    path("characters/<int:character_pk>/generate/", generate.portrait_generate, name="portrait_generate"),
    path("generate/", generate.quick_generate, name="quick_generate"),
    path("generate/options/", generate.generator_options, name="generator_options"),
    path("queue/", queue.queue_page, name="queue"),
    path("queue/badge/", queue.queue_badge, name="queue_badge"),
    path("queue/pause/", queue.queue_pause, name="queue_pause"),
    path("queue/resume/", queue.queue_resume, name="queue_resume"),
    path("batches/<int:pk>/", queue.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/cancel/", queue.batch_cancel, name="batch_cancel"),
    path("portraits/<int:pk>/", portraits.portrait_detail, name="portrait_detail"),
    path("portraits/<int:pk>/card/", portraits.portrait_card, name="portrait_card"),
    path("portraits/<int:pk>/cancel/", queue.portrait_cancel, name="portrait_cancel"),
    path("portraits/<int:pk>/retry/", queue.portrait_retry, name="portrait_retry"),
    path("portraits/<int:pk>/front/", queue.portrait_to_front, name="portrait_to_front"),
    path("portraits/<int:pk>/image.png", portraits.portrait_image, name="portrait_image"),
    path("portraits/<int:pk>/thumb.webp", portraits.portrait_thumbnail, name="portrait_thumbnail"),
    path("portraits/<int:pk>/delete/", portraits.portrait_delete, name="portrait_delete"),
    path("portraits/<int:pk>/like/", galleries.portrait_like, name="portrait_like"),
    path("portraits/<int:pk>/favourite/", galleries.portrait_favourite, name="portrait_favourite"),
    path("characters/<int:pk>/gallery/", galleries.character_gallery, name="character_gallery"),
    path("gallery/", galleries.my_gallery, name="my_gallery"),
    path("gallery/bulk/", galleries.gallery_bulk, name="gallery_bulk"),
    path("gallery/stats/", galleries.gallery_stats, name="gallery_stats"),
    path("gallery/<int:pk>/", galleries.gallery_portrait, name="gallery_portrait"),
    path("community/", galleries.community_gallery, name="community_gallery"),
    path("community/<int:pk>/", galleries.community_portrait, name="community_portrait"),
    path("community/<int:pk>/thumb.webp", galleries.community_thumbnail, name="community_thumbnail"),
    path("community/<int:pk>/image.png", galleries.community_image, name="community_image"),
    path("settings/providers/", provider_settings.provider_settings, name="provider_settings"),
    path("settings/providers/openai/models/", provider_settings.openai_models, name="openai_models"),
]
