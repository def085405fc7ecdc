"""What the community app plugs into lower apps (called once from CommunityConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from firstline.core.links import register_record_page
from firstline.core.scoping import Scope, register_visibility
from firstline.quarantine import hooks as quarantine_hooks


def workplace_codes(scope: Scope) -> set[str]:
    """Where staff without a jurisdiction work: the division a site-staff membership is registered in, and the
    division each of the user's departments serves (one small query each, only for those roles)."""
    from firstline.accounts.models import Department, Membership
    from firstline.accounts.roles import SITE_ROLES

    codes: set[str] = set()
    if scope.user_id is not None and scope.roles & SITE_ROLES:
        memberships = Membership.objects.filter(user_id=scope.user_id, active=True, role__in=SITE_ROLES)
        codes |= {path for path in memberships.values_list("path", flat=True) if path}
    if scope.department_ids:
        codes |= set(Department.objects.filter(id__in=scope.department_ids).values_list("division_id", flat=True))
    return codes


def _notices_where_staff_work(scope: Scope) -> Q | None:
    """Site staff and department officers open no jurisdiction, but they read the published notices of the
    division they work in and of every division above it, like everyone below those divisions."""
    from firstline.community.models import NoticeStatus

    codes = workplace_codes(scope)
    from firstline.regions.models import ancestor_codes

    ancestors = {ancestor for code in codes for ancestor in ancestor_codes(code)}
    if not ancestors:
        return None
    return Q(path__in=sorted(ancestors), status=NoticeStatus.PUBLISHED)


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
    register_visibility(Notice, _notices_where_staff_work)

    register_record_page(CareRequest, "community:care_detail")
    register_record_page(Volunteer, "community:volunteer_detail")
    register_record_page(Notice, "community:notice_detail")
    register_record_page(PublicReport, "community:report_detail")
