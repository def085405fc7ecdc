"""REST API of community: care requests; volunteers and shifts; notices and public reports."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from firstline.community.care import api as care_api
from firstline.community.notices import api as notices_api
from firstline.community.roster import api as roster_api


def register(router: DefaultRouter) -> None:
    care_api.register(router)
    roster_api.register(router)
    notices_api.register(router)
