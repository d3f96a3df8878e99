from __future__ import annotations

from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from studio import logging
        from studio.characters import prompts
        from studio.portraits import providers, signals

        logging.connect_signals()
        signals.connect()
        prompts.register_limit_source(providers.prompt_limits)
