"""The offline local painter: the default provider, free and always configured."""

from __future__ import annotations

from typing import Any

from studio.portraits.providers.base import (
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelOptions,
    Provider,
    parse_size,
    setting,
)

LOCAL_MODEL = "painter-v1"


class LocalProvider(Provider):
    name = "local"
    label = "Local painter"
    default_model_fallback = LOCAL_MODEL
    models = ((LOCAL_MODEL, "Local painter"),)
    sizes = (("512x512", "Small (512×512)"), ("1024x1024", "Large (1024×1024)"))
    qualities = ()
    default_prompt_limit = 10000
    retries = False

    @property
    def default_model(self) -> str:
        return LOCAL_MODEL

    def is_configured(self) -> bool:
        return True

    def model_options(self, model: str) -> ModelOptions:
        # The painter keeps one face: the first face reference's.
        return ModelOptions(max_references=1)

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        # Imported here so the provider registry loads without the painter's NumPy work.
        from studio import painter

        if model != LOCAL_MODEL:
            raise self.error(ErrorKind.MODEL_UNAVAILABLE, f"unknown local model {model}", model=model)
        parameters: dict[str, Any] = {}
        if request.attributes:
            values = dict(request.attributes)
            identity = request.options.get("identity_seed")
        else:
            # A free prompt (Quick generate, Remix): draw what the vocabulary names, say once what it cannot,
            # and keep one face per prompt.
            reading = painter.read_prompt(request.prompt)
            values = reading.values
            identity = request.options.get(
                "identity_seed", painter.character_identity_seed({"name": request.prompt})
            )
            if reading.not_drawn:
                parameters["not_drawn"] = list(reading.not_drawn)
        # The first face reference's painter seed keeps that face; else the character's own (from its name).
        face = next(
            (ref for ref in request.references if ref.role == "face" and ref.painter_seed is not None), None
        )
        if face is not None:
            identity = face.painter_seed
        if not isinstance(identity, int):
            identity = painter.character_identity_seed(values)
        parameters["identity_seed"] = identity
        # A character sheet asks for its views and expressions; a reference passes its identity seed.
        shot = {
            "identity_seed": int(identity) if isinstance(identity, int) else None,
            "view": request.options.get("view") or None,
            "expression": request.options.get("expression") or None,
        }
        size = self.pixel_size(request.size)
        seed = request.seed or 0
        images = [
            GeneratedImage(painter.render_png(values, seed + index, size, **shot), "png", seed=seed + index)
            for index in range(request.count)
        ]
        return GenerationResult(
            images=images,
            provider=self.name,
            model=model,
            parameters={"size": f"{size}x{size}", **parameters},
        )

    @staticmethod
    def pixel_size(size: str) -> int:
        """The painter paints squares: the longer side of a "WxH" size, else PORTRAIT_SIZE."""
        dimensions = parse_size(size)
        side = max(dimensions) if dimensions else int(setting("PORTRAIT_SIZE", 1024))
        return max(64, min(side, 2048))
