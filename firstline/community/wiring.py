"""What the community app plugs into lower apps (called once from CommunityConfig.ready)."""

from __future__ import annotations

from typing import Any

from firstline.core.links import register_record_page
from firstline.quarantine import hooks as quarantine_hooks


def _care_need_added(actor: Any, need: Any) -> None:
    from firstline.community.care.services import care_from_need

    care_from_need(actor=actor, need=need)


def register() -> None:
    from firstline.community.care import panels as care_panels
    from firstline.community.models import CareRequest, Notice, PublicReport, Volunteer
    from firstline.community.notices import panels as notice_panels

    care_panels.register()
    quarantine_hooks.register_care_need_listener(_care_need_added)
    notice_panels.register()

    register_record_page(CareRequest, "community:care_detail")
    register_record_page(Volunteer, "community:volunteer_detail")
    register_record_page(Notice, "community:notice_detail")
    register_record_page(PublicReport, "community:report_detail")
