"""The offline local painter: the default provider, free and always configured.

It cannot read pictures, so of the references it keeps one thing: the first face reference's painter seed
(a portrait it painted records the identity seed it drew the face from), which becomes the portrait's
identity seed, so every painter portrait made from that reference has the same face.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from studio.portraits.providers.base import (
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelOptions,
    Provider,
    ReferenceInput,
    others_not_used,
    parse_size,
    reference_record,
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

    def reference_indexes(self, model: str, roles: Sequence[str]) -> list[int]:
        """The first face reference: only its painter seed is used."""
        return [roles.index("face")] if "face" in roles else []

    def reference_note(self, model: str, roles: Sequence[str]) -> str:
        if not roles:
            return ""
        if "face" not in roles:
            return (
                "The local painter keeps only a face reference's face: with no face reference the face comes "
                "from the character."
            )
        return (
            "The local painter keeps the face of the first face reference (a portrait it painted; from an "
            f"uploaded image it keeps nothing){others_not_used(len(roles))}."
        )

    @staticmethod
    def reference_seed(references: Sequence[ReferenceInput]) -> tuple[int | None, list[ReferenceInput]]:
        """The first face reference's painter seed, and that reference (when it has one)."""
        face = next((reference for reference in references if reference.role == "face"), None)
        if face is None or face.painter_seed is None:
            return None, []
        return face.painter_seed, [face]

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        # Imported here so the provider registry loads without the painter's NumPy work.
        from studio import painter

        if model != LOCAL_MODEL:
            raise self.error(ErrorKind.MODEL_UNAVAILABLE, f"unknown local model {model}", model=model)
        parameters: dict[str, Any] = {}
        # An identity seed the caller chose wins; then the first face reference's.
        reference_seed, used = self.reference_seed(request.references)
        if used:
            parameters["references"] = reference_record(used)
        if request.attributes:
            values = dict(request.attributes)
            identity = request.options.get("identity_seed", reference_seed)
        else:
            # A free prompt (Quick generate, Remix): draw what the vocabulary names, say once what it cannot,
            # and keep one face per prompt.
            reading = painter.read_prompt(request.prompt)
            values = reading.values
            if reference_seed is None:
                reference_seed = painter.character_identity_seed({"name": request.prompt})
            identity = request.options.get("identity_seed", reference_seed)
            if reading.not_drawn:
                parameters["not_drawn"] = list(reading.not_drawn)
        # No chosen seed and no face reference: the character's own face (from its name and attributes).
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
