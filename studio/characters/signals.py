"""Signals the characters feature sends; features that keep copies of a character's data listen."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with character=... after a save that changed the character's visibility.
visibility_changed = Signal()

# Sent by the character pages with character=..., created=... after a save that created the character or
# changed its look (its version). Receivers may answer with a sentence for the user (or None).
look_saved = Signal()
