"""What the community app plugs into lower apps (called once from CommunityConfig.ready)."""

from __future__ import annotations

from firstline.core.links import register_record_page


def register() -> None:
    from firstline.community.models import CareRequest, Notice, PublicReport, Volunteer

    register_record_page(CareRequest, "community:care_detail")
    register_record_page(Volunteer, "community:volunteer_detail")
    register_record_page(Notice, "community:notice_detail")
    register_record_page(PublicReport, "community:report_detail")
