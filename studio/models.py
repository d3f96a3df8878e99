"""Every feature's models, imported so Django finds them under the `studio` app (nothing else lives here)."""

from __future__ import annotations

from studio.characters.models import Character, Visibility
from studio.frames.models import DepthDataset, DepthFrameChunk
from studio.imports.models import CharacterImport
from studio.lab.models import Style, StyleImage, StyleModel
from studio.portraits.models import Batch, CharacterLook, Favourite, Like, Portrait, ReferenceImage

__all__ = [
    "Batch",
    "Character",
    "CharacterImport",
    "CharacterLook",
    "DepthDataset",
    "DepthFrameChunk",
    "Favourite",
    "Like",
    "Portrait",
    "ReferenceImage",
    "Style",
    "StyleImage",
    "StyleModel",
    "Visibility",
]
