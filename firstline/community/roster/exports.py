"""Export columns of the registry, rosters, pledge records and service records (PII masked by permission)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from firstline.core.dates import local_minute
from firstline.core.exports import Column
from firstline.core.pii import shown


def skills_text(skills: list[str]) -> str:
    from firstline.community.roster.services import skill_label

    return "、".join(skill_label(s) for s in skills)


def volunteer_columns(*, full: bool) -> list[Column]:
    return [
        (_("Name"), lambda v: v.person.name),
        (_("ID number"), lambda v: shown(v.person.id_number, "id_number", full=full)),
        (_("Kind"), lambda v: v.get_kind_display()),
        (_("Party branch"), lambda v: v.party_branch),
        (_("Skills"), lambda v: skills_text(v.skills)),
        (_("Availability"), lambda v: v.availability),
        (_("Phone"), lambda v: shown(v.phone, "phone", full=full)),
        (_("Serves in"), lambda v: v.path),
        (_("Account"), lambda v: v.user.username if v.user else ""),
        (_("Active"), lambda v: _("yes") if v.active else _("no")),
        (_("Joined on"), lambda v: v.joined_on.isoformat() if v.joined_on else ""),
        (_("Commitments signed"), lambda v: getattr(v, "pledges_signed", "")),
    ]


def shift_columns() -> list[Column]:
    return [
        (_("Post"), lambda s: s.post.name),
        (_("Member"), lambda s: s.volunteer.person.name),
        (_("Start"), lambda s: local_minute(s.start)),
        (_("End"), lambda s: local_minute(s.end)),
        (_("Status"), lambda s: s.get_status_display()),
        (_("Checked in"), lambda s: local_minute(s.checked_in_at)),
        (_("Checked out"), lambda s: local_minute(s.checked_out_at)),
        (_("Note"), lambda s: s.note),
        (_("Jurisdiction"), lambda s: s.path),
    ]


def pledge_columns() -> list[Column]:
    return [
        (_("Name"), lambda p: p.volunteer.person.name),
        (_("Kind"), lambda p: p.volunteer.get_kind_display()),
        (_("Party branch"), lambda p: p.volunteer.party_branch),
        (_("Serves in"), lambda p: p.volunteer.path),
        (_("No."), lambda p: p.commitment.number),
        (_("Commitment"), lambda p: p.commitment.title),
        (_("Signed on"), lambda p: p.signed_on.isoformat()),
        (_("Recorded by"), lambda p: str(p.recorded_by or "")),
    ]


def service_columns() -> list[Column]:
    return [
        (_("Name"), lambda r: r.volunteer.person.name),
        (_("Kind"), lambda r: r.volunteer.get_kind_display()),
        (_("Party branch"), lambda r: r.volunteer.party_branch),
        (_("Serves in"), lambda r: r.volunteer.path),
        (_("Shifts done"), lambda r: r.shifts_done),
        (_("Hours on duty"), lambda r: r.duty_hours),
        (_("Shifts missed"), lambda r: r.shifts_missed),
        (_("Posts served"), lambda r: r.posts_label),
        (_("Tasks done"), lambda r: r.tasks_done),
        (_("Households covered"), lambda r: r.households_covered),
        (_("Other service (hours)"), lambda r: r.entry_hours),
        (_("Total hours"), lambda r: r.total_hours),
    ]
