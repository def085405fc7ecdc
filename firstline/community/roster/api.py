"""REST API of this part of community."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Called from firstline.community.api.register."""
