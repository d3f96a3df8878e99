"""PostgreSQL with Django's own backend, plus a parameter limit when server-side binding is on (base.py)."""

from __future__ import annotations
