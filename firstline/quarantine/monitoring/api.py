"""REST API of this part of quarantine."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Called from firstline.quarantine.api.register."""
