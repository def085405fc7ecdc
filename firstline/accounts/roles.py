"""Roles as permission sets.

A role is what a person does (grid worker, epidemiologist …); a membership binds a user to a role in one
division, grid or department. Permissions are capability names checked by services and views; which rows a
user sees is decided separately, by scope (see firstline.core.scoping).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from firstline.core.pii import PII_FULL_PERMISSION


class Role(models.TextChoices):
    CITY_COMMAND = "city_command", _("city command centre")
    TOWNSHIP_OFFICER = "township_officer", _("township / street officer")
    VILLAGE_SECRETARY = "village_secretary", _("village / community secretary")
    FIRST_SECRETARY = "first_secretary", _("village-stationed first secretary")
    GRID_LEADER = "grid_leader", _("grid leader")
    GRID_WORKER = "grid_worker", _("grid worker")
    VOLUNTEER = "volunteer", _("party-member volunteer")
    CDC = "cdc", _("CDC epidemiologist")
    SITE_STAFF = "site_staff", _("quarantine-site staff")
    DEPARTMENT_OFFICER = "department_officer", _("department officer")
    DATA_ADMIN = "data_admin", _("data administrator")
    AUDITOR = "auditor", _("auditor")


class Perm:
    PERSON_VIEW = "person.view"
    PERSON_ADD = "person.add"
    PERSON_CHANGE = "person.change"
    PERSON_MERGE = "person.merge"
    PERSON_EXPORT = "person.export"
    PII_FULL = PII_FULL_PERMISSION  # sees ID numbers and phones unmasked
    PII_REVEAL = "pii.reveal"  # may unmask one record; each reveal is audited
    HOUSEHOLD_CHANGE = "household.change"
    RESPONSIBILITY_MANAGE = "responsibility.manage"
    TASK_VIEW = "task.view"
    TASK_ADD = "task.add"
    TASK_CHANGE = "task.change"
    AUDIT_VIEW = "audit.view"
    USER_MANAGE = "user.manage"
    DIVISION_MANAGE = "division.manage"
    CITY_SUMMARY = "summary.city"
    RISKAREA_EDIT = "riskarea.edit"
    POLICY_EDIT = "policy.edit"
    ARRIVAL_ADD = "arrival.add"
    ARRIVAL_VERIFY = "arrival.verify"  # verify self-registrations, confirm/clear possible risk-area matches
    IMPORT_RUN = "import.run"
    ASSIST_MANAGE = "assist.manage"  # receive 协查 batches and distribute them
    ASSIST_HANDLE = "assist.handle"  # locate and control the people of a batch
    CAMPAIGN_MANAGE = "campaign.manage"
    VISIT_RECORD = "visit.record"
    POINT_MANAGE = "point.manage"  # self-registration points and their QR posters
    TRACE_EDIT = "trace.edit"  # report and classify cases, record and decide exposures
    TRACE_ANY_SCOPE = "trace.any_scope"  # record exposures of people outside one's own jurisdiction (CDC)
    VENUE_MANAGE = "venue.manage"  # venue QR codes (场所码)
    FACILITY_MANAGE = "quarantine.facility"  # quarantine sites, their rooms and staff
    PLACEMENT_MANAGE = "quarantine.place"  # place, transfer and release people under a measure
    SAMPLING_RECORD = "quarantine.sample"  # record samplings (time, sampler, tube)
    RESULT_ENTER = "quarantine.result"  # enter or import lab results
    HEALTH_CHECK_RECORD = "quarantine.check"  # record daily temperature and symptom checks
    CARE_FILE = "care.file"  # file a care request for oneself or a frontline colleague
    CARE_HANDLE = "care.handle"  # take, assign and resolve care requests of one's jurisdiction
    FRONTLINE_MANAGE = "frontline.manage"  # flag people as frontline workers with their post
    VOLUNTEER_MANAGE = "volunteer.manage"  # party-member/volunteer registry, posts, rosters, pledges
    NOTICE_PUBLISH = "notice.publish"  # publish official notices to one's subtree
    REPORT_HANDLE = "report.handle"  # triage public reports (rumours, violations, unregistered arrivals)


_P = Perm
_FIELD = {_P.PERSON_VIEW, _P.PERSON_ADD, _P.PERSON_CHANGE, _P.TASK_VIEW, _P.TASK_ADD, _P.TASK_CHANGE, _P.ARRIVAL_ADD}
# Who works the screening of arrivals in a place.
_SCREEN = {_P.ARRIVAL_VERIFY, _P.ASSIST_HANDLE, _P.VISIT_RECORD}
_LEAD = {_P.IMPORT_RUN, _P.CAMPAIGN_MANAGE, _P.POINT_MANAGE, _P.VENUE_MANAGE}
# Who watches people under home quarantine: daily checks, samplings at the door.
_WATCH = {_P.HEALTH_CHECK_RECORD, _P.SAMPLING_RECORD}
# Who organises the community's own people: frontline care, volunteers and duty rosters, notices, public reports.
_ORGANISE = {_P.CARE_HANDLE, _P.FRONTLINE_MANAGE, _P.VOLUNTEER_MANAGE, _P.NOTICE_PUBLISH, _P.REPORT_HANDLE}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.CITY_COMMAND: frozenset(
        {_P.PERSON_VIEW, _P.PII_REVEAL, _P.PERSON_EXPORT, _P.TASK_VIEW, _P.TASK_ADD, _P.TASK_CHANGE}
        | {_P.CITY_SUMMARY, _P.RESPONSIBILITY_MANAGE, _P.RISKAREA_EDIT, _P.POLICY_EDIT, _P.ASSIST_MANAGE}
        | _LEAD
        | {_P.FACILITY_MANAGE, _P.PLACEMENT_MANAGE}
        | _ORGANISE
        | {_P.CARE_FILE}
    ),
    Role.TOWNSHIP_OFFICER: frozenset(
        _FIELD
        | {_P.PERSON_MERGE, _P.PERSON_EXPORT, _P.PII_REVEAL, _P.HOUSEHOLD_CHANGE, _P.RESPONSIBILITY_MANAGE}
        | _SCREEN
        | _LEAD
        | {_P.ASSIST_MANAGE, _P.FACILITY_MANAGE, _P.PLACEMENT_MANAGE}
        | _WATCH
        | _ORGANISE
        | {_P.CARE_FILE}
    ),
    Role.VILLAGE_SECRETARY: frozenset(
        _FIELD
        | {_P.PERSON_EXPORT, _P.PII_FULL, _P.HOUSEHOLD_CHANGE, _P.RESPONSIBILITY_MANAGE, _P.PLACEMENT_MANAGE}
        | _SCREEN
        | _LEAD
        | _WATCH
        | _ORGANISE
        | {_P.CARE_FILE}
    ),
    Role.FIRST_SECRETARY: frozenset(
        _FIELD | {_P.PII_REVEAL, _P.CARE_FILE, _P.CARE_HANDLE, _P.VOLUNTEER_MANAGE} | _SCREEN | _WATCH
    ),
    Role.GRID_LEADER: frozenset(
        _FIELD
        | {_P.PERSON_EXPORT, _P.PII_FULL, _P.HOUSEHOLD_CHANGE, _P.RESPONSIBILITY_MANAGE, _P.VENUE_MANAGE}
        | {_P.PLACEMENT_MANAGE, _P.CARE_FILE, _P.VOLUNTEER_MANAGE, _P.FRONTLINE_MANAGE}
        | _SCREEN
        | _WATCH
    ),
    # Grid workers phone and visit households: they need the numbers.
    Role.GRID_WORKER: frozenset(
        _FIELD | {_P.PII_FULL, _P.HOUSEHOLD_CHANGE, _P.PERSON_EXPORT, _P.CARE_FILE} | _SCREEN | _WATCH
    ),
    # Volunteers staff checkpoints and join door-to-door rounds.
    Role.VOLUNTEER: frozenset(
        {_P.PERSON_VIEW, _P.TASK_VIEW, _P.TASK_CHANGE, _P.ARRIVAL_ADD, _P.VISIT_RECORD, _P.CARE_FILE}
    ),
    Role.CDC: frozenset(
        _FIELD
        | {_P.PII_FULL, _P.PERSON_EXPORT, _P.RISKAREA_EDIT, _P.POLICY_EDIT, _P.IMPORT_RUN, _P.ASSIST_MANAGE}
        | {_P.TRACE_EDIT, _P.TRACE_ANY_SCOPE, _P.VENUE_MANAGE}
        | {_P.PLACEMENT_MANAGE, _P.SAMPLING_RECORD, _P.RESULT_ENTER, _P.CARE_FILE, _P.NOTICE_PUBLISH}
    ),
    # Site staff see the sites they are assigned to (quarantine.FacilityStaff), not the division they belong to.
    Role.SITE_STAFF: frozenset(
        {_P.PERSON_VIEW, _P.PII_FULL, _P.TASK_VIEW, _P.TASK_CHANGE, _P.PLACEMENT_MANAGE, _P.RESULT_ENTER}
        | {_P.CARE_FILE}
        | _WATCH
    ),
    # Police and others staff road checkpoints and help locate people of 协查 lists.
    Role.DEPARTMENT_OFFICER: frozenset(
        {_P.PERSON_VIEW, _P.PII_REVEAL, _P.TASK_VIEW, _P.TASK_ADD, _P.TASK_CHANGE, _P.ARRIVAL_ADD, _P.ASSIST_HANDLE}
        | {_P.SAMPLING_RECORD, _P.CARE_FILE, _P.REPORT_HANDLE}
    ),
    Role.DATA_ADMIN: frozenset(
        {_P.PERSON_VIEW, _P.PERSON_ADD, _P.PERSON_CHANGE, _P.PERSON_MERGE, _P.PERSON_EXPORT, _P.PII_REVEAL}
        | {_P.USER_MANAGE, _P.DIVISION_MANAGE, _P.TASK_VIEW, _P.RESPONSIBILITY_MANAGE, _P.HOUSEHOLD_CHANGE}
        | {_P.RISKAREA_EDIT, _P.IMPORT_RUN, _P.POINT_MANAGE, _P.VENUE_MANAGE, _P.FACILITY_MANAGE}
        | {_P.FRONTLINE_MANAGE, _P.VOLUNTEER_MANAGE}
    ),
    Role.AUDITOR: frozenset({_P.PERSON_VIEW, _P.AUDIT_VIEW, _P.PII_REVEAL}),
}

# Roles bound to a grid rather than a division.
GRID_ROLES = {Role.GRID_LEADER, Role.GRID_WORKER, Role.VOLUNTEER}
# Roles bound to a department.
DEPARTMENT_ROLES = {Role.DEPARTMENT_OFFICER}
# Roles whose rows come from the quarantine sites they are assigned to: their membership's division says where
# they are registered (for escalation and lists of staff) but opens no jurisdiction.
SITE_ROLES = {Role.SITE_STAFF}

# Who an overdue task escalates to, by the level of the jurisdiction it is raised into.
SUPERVISOR_ROLES_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "grid": (Role.GRID_LEADER,),
    "village": (Role.VILLAGE_SECRETARY, Role.FIRST_SECRETARY),
    "township": (Role.TOWNSHIP_OFFICER,),
    "county": (Role.CITY_COMMAND,),
}
