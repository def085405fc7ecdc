from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from firstline.accounts.roles import SITE_ROLES, Perm
from firstline.core.scoping import Scope, scope_of


@dataclass
class NavGroup:
    """A menu of the navigation bar; a group with one entry is shown as a plain link."""

    key: str
    label: Any
    items: list[tuple[str, Any, str]] = field(default_factory=list)

    def add(self, key: str, label: Any, url_name: str) -> None:
        self.items.append((key, label, reverse(url_name)))

    @property
    def keys(self) -> set[str]:
        return {key for key, _label, _url in self.items}


def _work(scope: Scope) -> NavGroup:
    group = NavGroup("work", _("My work"))
    if scope.has(Perm.TASK_VIEW):
        group.add("tasks", _("My tasks"), "dispatch:inbox")
    if scope.has(Perm.HEALTH_CHECK_RECORD) or scope.has(Perm.SAMPLING_RECORD):
        group.add("quarantine_today", _("My people today"), "quarantine:today")
    if scope.has(Perm.ARRIVAL_ADD):
        group.add("arrival_new", _("Register an arrival"), "screening:arrival_create")
    if scope.has(Perm.TASK_VIEW):
        group.add("my_duty", _("My duty"), "community:my_duty")
    if scope.has(Perm.CARE_FILE) or scope.has(Perm.CARE_HANDLE):
        group.add("care_mine", _("My care requests"), "community:care_mine")
    return group


def _screening(scope: Scope) -> NavGroup:
    group = NavGroup("screening", _("Screening"))
    if scope.has(Perm.PERSON_VIEW):
        group.add("people", _("People"), "people:list")
    if scope.has(Perm.PERSON_VIEW) and (scope.has(Perm.ARRIVAL_ADD) or scope.has(Perm.CITY_SUMMARY)):
        group.add("arrivals", _("Arrivals"), "screening:arrival_list")
    if scope.has(Perm.ARRIVAL_VERIFY):
        group.add("queue", _("To resolve"), "screening:queue")
    if scope.has(Perm.IMPORT_RUN):
        group.add("imports", _("Imports"), "screening:imports:list")
    if scope.has(Perm.ASSIST_MANAGE) or scope.has(Perm.ASSIST_HANDLE):
        group.add("assist", _("Investigation requests"), "screening:assist:list")
    if scope.has(Perm.CAMPAIGN_MANAGE) or scope.has(Perm.VISIT_RECORD):
        group.add("campaigns", _("Door-to-door campaigns"), "screening:campaigns:list")
    return group


def _tracing(scope: Scope) -> NavGroup:
    group = NavGroup("tracing", _("Tracing"))
    if scope.has(Perm.PERSON_VIEW):
        group.add("cases", _("Cases"), "tracing:case_list")
        group.add("contacts", _("Contacts"), "tracing:contact_list")
    if scope.has(Perm.TRACE_EDIT):
        group.add("exposures", _("Exposures to decide"), "tracing:exposure_list")
    if scope.has(Perm.VENUE_MANAGE) or scope.has(Perm.TRACE_EDIT):
        group.add("venues", _("Venues"), "tracing:venue_list")
    # Chains are read by whoever leads the work (CDC, command centre, township/village leads), not each grid.
    if scope.has(Perm.PERSON_VIEW) and (
        scope.has(Perm.TRACE_EDIT) or scope.has(Perm.CITY_SUMMARY) or scope.has(Perm.PERSON_MERGE)
    ):
        group.add("clusters", _("Transmission clusters"), "tracing:cluster_list")
    return group


def _quarantine(scope: Scope) -> NavGroup:
    group = NavGroup("quarantine", _("Quarantine"))
    watches = scope.has(Perm.HEALTH_CHECK_RECORD) or scope.has(Perm.SAMPLING_RECORD)
    if watches or scope.has(Perm.PLACEMENT_MANAGE) or scope.has(Perm.CITY_SUMMARY):
        group.add("quarantine", _("Quarantine overview"), "quarantine:dashboard")
    if scope.has(Perm.FACILITY_MANAGE) or scope.has(Perm.PLACEMENT_MANAGE):
        group.add("sites", _("Quarantine sites"), "quarantine:facility_list")
    if scope.has(Perm.PLACEMENT_MANAGE):
        group.add("placements", _("Placements"), "quarantine:placement_list")
    if scope.has(Perm.FACILITY_MANAGE) or scope.has(Perm.PLACEMENT_MANAGE) or scope.has(Perm.CITY_SUMMARY):
        group.add("occupancy", _("Occupancy"), "quarantine:occupancy")
    if watches or scope.has(Perm.RESULT_ENTER):
        group.add("samplings", _("Samplings and results"), "quarantine:sampling_list")
    return group


def _community(scope: Scope) -> NavGroup:
    group = NavGroup("community", _("Community"))
    if scope.has(Perm.CARE_HANDLE):
        group.add("care_queue", _("Care queue"), "community:care_queue")
    if scope.has(Perm.FRONTLINE_MANAGE):
        group.add("frontline", _("Frontline workers"), "community:frontline_list")
    if scope.has(Perm.VOLUNTEER_MANAGE):
        group.add("volunteers", _("Party members and volunteers"), "community:volunteer_list")
    if scope.paths or scope.department_ids or scope.roles & SITE_ROLES:
        group.add("notices", _("Notices"), "community:notice_list")
    if scope.has(Perm.REPORT_HANDLE):
        group.add("reports", _("Public reports"), "community:report_list")
    return group


def _reference(scope: Scope) -> NavGroup:
    group = NavGroup("reference", _("Rules and places"))
    group.add("riskareas", _("Risk areas"), "riskareas:list")
    group.add("policy", _("Policy"), "policy:list")
    if scope.paths:
        group.add("regions", _("Divisions and grids"), "regions:tree")
    return group


def _admin(scope: Scope) -> NavGroup:
    group = NavGroup("admin", _("Administration"))
    if scope.has(Perm.PERSON_MERGE):
        group.add("duplicates", _("Duplicates"), "people:duplicates")
    if scope.has(Perm.AUDIT_VIEW):
        group.add("audit", _("Audit log"), "accounts:audit")
    if scope.has(Perm.USER_MANAGE):
        group.add("users", _("Users"), "accounts:users")
    return group


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation menus this user's roles open; the pages themselves check again.

    ``nav_items`` lists every entry (key, label, url) flat; ``nav_groups`` the same entries by menu.
    """
    scope = scope_of(getattr(request, "user", None))
    if scope.user_id is None:
        return {"nav_items": [], "nav_groups": []}
    home = NavGroup("home", _("Home"))
    home.add("home", _("Home"), "home")
    groups = [home] + [
        group
        for group in (
            _work(scope),
            _screening(scope),
            _tracing(scope),
            _quarantine(scope),
            _community(scope),
            _reference(scope),
            _admin(scope),
        )
        if group.items
    ]
    items = [item for group in groups for item in group.items]
    return {"nav_items": items, "nav_groups": groups, "user_scope": scope}
