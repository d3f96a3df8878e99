"""Image providers: one module per provider, and the registry that picks them by name.

    provider = get_provider("openai")
    result = provider.generate(GenerationRequest(prompt=..., size="1024x1536"))

Provider modules are imported on first use, so loading the registry does not import the OpenAI SDK.
"""

from __future__ import annotations

import functools
from importlib import import_module

from studio.portraits.providers.base import (
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Provider,
    ProviderError,
    call_with_retries,
    setting,
    user_message,
)

__all__ = [
    "PROVIDERS",
    "ErrorKind",
    "GeneratedImage",
    "GenerationRequest",
    "GenerationResult",
    "Provider",
    "ProviderError",
    "UnknownProviderError",
    "available_providers",
    "call_with_retries",
    "configured_providers",
    "get_provider",
    "prompt_limits",
    "provider_choices",
    "provider_label",
    "user_message",
]

# name -> "module:Class", in the order the UI lists them.
PROVIDERS: dict[str, str] = {
    "local": "studio.portraits.providers.local:LocalProvider",
    "openai": "studio.portraits.providers.openai_images:OpenAIProvider",
    "stability": "studio.portraits.providers.stability:StabilityProvider",
    "huggingface": "studio.portraits.providers.huggingface:HuggingFaceProvider",
    "patterns": "studio.portraits.providers.patterns:PatternsProvider",
}


class UnknownProviderError(LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f'There is no image provider called "{name}". Choose one of: {", ".join(enabled_names())}.'
        )


def enabled_names() -> list[str]:
    """Providers switched on by settings.IMAGE_PROVIDERS (all by default), in registry order."""
    enabled = setting("IMAGE_PROVIDERS", None) or list(PROVIDERS)
    return [name for name in PROVIDERS if name in enabled]


def get_provider(name: str) -> Provider:
    """A fresh provider instance that reads the current settings."""
    if name not in enabled_names():
        raise UnknownProviderError(name)
    module_name, class_name = PROVIDERS[name].split(":")
    provider_class: type[Provider] = getattr(import_module(module_name), class_name)
    return provider_class()


@functools.lru_cache(maxsize=32)
def provider_label(name: str) -> str:
    """The display name of the registered provider `name` ("local" -> "Local painter"), switched on or not: a
    portrait keeps its painter's name after a provider is switched off. A name the registry does not know
    comes back as it is. Reads the class's label, so nothing is instantiated and no setting is read."""
    if name not in PROVIDERS:
        return name
    module_name, class_name = PROVIDERS[name].split(":")
    try:
        provider_class: type[Provider] = getattr(import_module(module_name), class_name)
    except ImportError:  # a provider whose SDK is not installed still names its old portraits
        return name
    return provider_class.label


def available_providers() -> list[Provider]:
    return [get_provider(name) for name in enabled_names()]


def prompt_limits() -> list[tuple[str, int]]:
    """(label, prompt limit of its default model) of each provider the generator offers (configured: an API
    key, or no key needed) that paints from a prompt. A provider without its key cannot take the prompt, so
    its limit is no one's concern: the meters and the save warning measure against these only."""
    return [(p.label, p.prompt_limit()) for p in configured_providers() if p.name != "patterns"]


def configured_providers() -> list[Provider]:
    """The enabled providers that have what they need (an API key) to run."""
    return [provider for provider in available_providers() if provider.is_configured()]


def provider_choices() -> list[tuple[str, str]]:
    """(name, label) choices of configured providers, for forms."""
    return [(provider.name, provider.label) for provider in configured_providers()]
