"""REST API of quarantine: sites, rooms and placements; samplings and results; health checks and today's list."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from firstline.quarantine.monitoring import api as monitoring_api
from firstline.quarantine.sites import api as sites_api
from firstline.quarantine.testing import api as testing_api


def register(router: DefaultRouter) -> None:
    sites_api.register(router)
    testing_api.register(router)
    monitoring_api.register(router)
