"""Procedural patterns as an image provider: free, offline, and always configured.

The "model" is the pattern kind; request.options may carry "primary" and "secondary" colours.
"""

from __future__ import annotations

from studio.portraits.providers.base import (
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Provider,
    parse_size,
)


class PatternsProvider(Provider):
    name = "patterns"
    label = "Patterns"
    default_model_fallback = "mandala"
    sizes = (
        ("512x512", "Small (512×512)"),
        ("1024x1024", "Square (1024×1024)"),
        ("1024x1536", "Portrait (1024×1536)"),
        ("1536x1024", "Landscape (1536×1024)"),
    )
    qualities = ()
    default_prompt_limit = 10000
    retries = False

    @property
    def models(self) -> tuple[tuple[str, str], ...]:  # type: ignore[override]
        from studio.lab.patterns import KINDS

        return KINDS

    @property
    def default_model(self) -> str:
        return self.default_model_fallback

    def is_configured(self) -> bool:
        return True

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        from studio.lab import patterns

        width, height = parse_size(request.size) or (1024, 1024)
        seed = request.seed or 0
        images = []
        for index in range(request.count):
            try:
                options = patterns.PatternOptions(
                    kind=model,
                    width=width,
                    height=height,
                    primary=str(request.options.get("primary", patterns.DEFAULT_PRIMARY)),
                    secondary=str(request.options.get("secondary", patterns.DEFAULT_SECONDARY)),
                    seed=seed + index,
                )
            except patterns.PatternError as error:
                kind = (
                    ErrorKind.MODEL_UNAVAILABLE
                    if model not in patterns.KIND_LABELS
                    else ErrorKind.INVALID_REQUEST
                )
                raise self.error(kind, str(error), model=model) from error
            images.append(GeneratedImage(patterns.render_png(options), "png", seed=seed + index))
        parameters = {key: value for key, value in options.as_dict().items() if key != "seed"}
        parameters["size"] = f"{width}x{height}"
        return GenerationResult(images=images, provider=self.name, model=model, parameters=parameters)
