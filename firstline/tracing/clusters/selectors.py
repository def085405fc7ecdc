"""Reads of transmission clusters: lists, one cluster, and its graph as the viewer may see it.

A cluster is visible to whoever sees one of its members (``ClusterQuerySet``). Inside a visible cluster only the
persons ``Person.objects.visible_to(user)`` returns are named and linked; the others appear as anonymous
"(other jurisdiction)" nodes with an opaque id (stable per cluster, never the person's id), so the chain is
complete without telling anyone who the other jurisdiction's people are.
"""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.core.scoping import scope_of
from firstline.people.models import Person
from firstline.regions.models import Household
from firstline.tracing.models import (
    COUNTED_STATUSES,
    Classification,
    Cluster,
    ClusterMember,
    Exposure,
    ExposureStatus,
    MemberRole,
    Setting,
    Venue,
)

OTHER_JURISDICTION = gettext_lazy("(other jurisdiction)")
ROLE_ORDER = (MemberRole.CASE, MemberRole.CLOSE, MemberRole.SECONDARY, MemberRole.OTHER)


def day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# -- lists and access -------------------------------------------------------------------------------------------


def cluster_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Cluster]:
    """Clusters the user may see. ``filters``: ``active`` ("1"/"0"/bool), ``date_from``/``date_to`` (the cluster's
    exposures span reaches into the range), ``division`` (prefix of the cluster's path), ``min_size``."""
    filters = filters or {}
    clusters = Cluster.objects.visible_to(user)
    active = filters.get("active")
    if active not in (None, ""):
        clusters = clusters.filter(active=active in (True, "1", "true", "True"))
    if filters.get("date_from"):
        clusters = clusters.filter(last_date__gte=filters["date_from"])
    if filters.get("date_to"):
        clusters = clusters.filter(first_date__lte=filters["date_to"])
    if filters.get("division"):
        clusters = clusters.filter(path__startswith=str(filters["division"]).strip())
    if filters.get("min_size"):
        clusters = clusters.filter(size__gte=int(filters["min_size"]))
    return clusters.order_by("-active", "-last_date", "-size", "-id")


def cluster_get_for_user(user: Any, pk: Any) -> Cluster:
    """The cluster if one of its members is visible to the user; 404 for missing and out-of-scope alike."""
    try:
        return Cluster.objects.visible_to(user).get(pk=int(pk))
    except (Cluster.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def cluster_for_person(user: Any, person_id: int) -> Cluster | None:
    """The cluster a (visible) person belongs to, for the person and case pages."""
    member = ClusterMember.objects.filter(person_id=person_id).only("cluster_id").first()
    if member is None:
        return None
    return Cluster.objects.visible_to(user).filter(pk=member.cluster_id).first()


def member_page_queryset(cluster: Cluster) -> QuerySet[ClusterMember]:
    """Members with their person, cases first."""
    order = Case(
        *(When(role=role, then=Value(i)) for i, role in enumerate(ROLE_ORDER)),
        default=Value(len(ROLE_ORDER)),
        output_field=IntegerField(),
    )
    return (
        ClusterMember.objects.filter(cluster=cluster)
        .select_related("person")
        .annotate(role_order=order)
        .order_by("role_order", "person_id")
    )


def visible_person_ids(user: Any, person_ids: Iterable[int]) -> set[int]:
    return set(Person.objects.visible_to(user).filter(pk__in=list(person_ids)).values_list("pk", flat=True))


# -- the graph --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphFilters:
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    division: str = ""

    @property
    def any(self) -> bool:
        return bool(self.date_from or self.date_to or self.division)


@dataclass
class Member:
    person_id: int
    role: str
    classification: str
    path: str
    name: str
    household_id: int | None
    visible: bool = False
    node: str = ""


@dataclass(frozen=True)
class Edge:
    id: int
    source: int
    target: int
    start: datetime.datetime
    end: datetime.datetime
    setting: str
    status: str
    origin: str
    venue_id: int | None


class ClusterGraph:
    """One cluster's members and counted exposures as the user may see them, narrowed by the filters.

    Four queries whatever the size: members with their persons, the visible ones, the exposures, and (aggregated
    view only) the names of the visible households/venues.
    """

    def __init__(self, *, user: Any, cluster: Cluster, filters: GraphFilters | None = None) -> None:
        self.user = user
        self.cluster = cluster
        self.filters = filters or GraphFilters()
        self.scope = scope_of(user)
        member_ids = ClusterMember.objects.filter(cluster=cluster).values("person_id")
        self.members: dict[int, Member] = {
            row[0]: Member(*row)
            for row in ClusterMember.objects.filter(cluster=cluster)
            .order_by("person_id")
            .values_list("person_id", "role", "classification", "path", "person__name", "person__household_id")
        }
        visible = set(Person.objects.visible_to(user).filter(pk__in=member_ids).values_list("pk", flat=True))
        for member in self.members.values():
            member.visible = member.person_id in visible
            member.node = f"p{member.person_id}" if member.visible else self._anonymous_node(member.person_id)
        exposures = Exposure.objects.filter(
            status__in=COUNTED_STATUSES, source_id__in=member_ids, exposed_id__in=member_ids
        )
        if self.filters.date_from:
            exposures = exposures.filter(end__gte=day_start(self.filters.date_from))
        if self.filters.date_to:
            exposures = exposures.filter(start__lt=day_start(self.filters.date_to + datetime.timedelta(days=1)))
        edges = [
            Edge(*row)
            for row in exposures.order_by("start", "id").values_list(
                "id", "source_id", "exposed_id", "start", "end", "setting", "status", "origin", "venue_id"
            )
        ]
        division = self.filters.division.strip()
        if division:
            edges = [
                e
                for e in edges
                if self.members[e.source].path.startswith(division) or self.members[e.target].path.startswith(division)
            ]
        self.edges = [e for e in edges if e.source in self.members and e.target in self.members]
        if self.filters.any:
            shown = {p for e in self.edges for p in (e.source, e.target)}
            self.persons = [p for p in self.members if p in shown]
        else:
            self.persons = list(self.members)

    def _anonymous_node(self, person_id: int) -> str:
        secret = settings.SECRET_KEY.encode()[:64]
        digest = hashlib.blake2b(f"{self.cluster.pk}:{person_id}".encode(), key=secret, digest_size=8).hexdigest()
        return f"x{digest}"

    # -- plain ---------------------------------------------------------------------------------------------------

    def person_data(self, person_id: int, *, group: str = "") -> dict[str, Any]:
        member = self.members[person_id]
        data: dict[str, Any] = {
            "id": member.node,
            "kind": "person",
            "label": member.name if member.visible else str(OTHER_JURISDICTION),
            "role": member.role,
            "role_label": str(MemberRole(member.role).label) if member.role in MemberRole.values else member.role,
            "classification": member.classification,
            "classification_label": (
                str(Classification(member.classification).label)
                if member.classification in Classification.values
                else ""
            ),
            "anonymous": not member.visible,
            "url": reverse("people:detail", args=[person_id]) if member.visible else "",
        }
        if group:
            data["group"] = group
        return data

    def edge_data(self, edge: Edge) -> dict[str, Any]:
        day = timezone.localdate(edge.start)
        setting = str(Setting(edge.setting).label) if edge.setting in Setting.values else edge.setting
        return {
            "id": f"e{edge.id}",
            "source": self.members[edge.source].node,
            "target": self.members[edge.target].node,
            "setting": edge.setting,
            "setting_label": setting,
            "date": day.isoformat(),
            "end_date": timezone.localdate(edge.end).isoformat(),
            "status": edge.status,
            "verified": edge.status == ExposureStatus.CONFIRMED,
            "label": f"{setting} {day:%m-%d}",
        }

    def summary(self) -> dict[str, Any]:
        c = self.cluster
        return {
            "id": c.pk,
            "label": c.label,
            "size": c.size,
            "case_count": c.case_count,
            "exposure_count": c.exposure_count,
            "first_date": c.first_date.isoformat(),
            "last_date": c.last_date.isoformat(),
            "active": c.active,
        }

    def plain(self) -> dict[str, Any]:
        """Every person and exposure (after the filters), one node per person."""
        return {
            "cluster": self.summary(),
            "mode": "plain",
            "persons": len(self.persons),
            "nodes": [{"data": self.person_data(p)} for p in self.persons],
            "edges": [{"data": self.edge_data(e)} for e in self.edges],
        }

    # -- aggregated ----------------------------------------------------------------------------------------------

    def groups(self, max_nodes: int) -> dict[int, str]:
        """Each shown person → its group id: the venue where they were exposed by co-presence, else their
        household, else their jurisdiction; households are merged into their grid when there are still too many."""
        venue_of: dict[int, int] = {}
        for edge in self.edges:  # by start: the first venue exposure wins
            if edge.venue_id is not None and edge.target not in venue_of:
                venue_of[edge.target] = edge.venue_id
        group_of: dict[int, str] = {}
        for person_id in self.persons:
            member = self.members[person_id]
            if person_id in venue_of:
                group_of[person_id] = f"v{venue_of[person_id]}"
            elif member.household_id is not None:
                group_of[person_id] = f"h{member.household_id}"
            else:
                group_of[person_id] = self._area_id(member.path)
        if len(set(group_of.values())) > max_nodes:
            for person_id, group in group_of.items():
                if group.startswith("h"):
                    group_of[person_id] = self._area_id(self.members[person_id].path)
        return group_of

    def _area_id(self, path: str) -> str:
        return "a" + hashlib.blake2b(path.encode(), digest_size=6).hexdigest()

    def _group_labels(self, group_of: Mapping[int, str]) -> dict[str, dict[str, Any]]:
        groups: dict[str, dict[str, Any]] = {}
        households: set[int] = set()
        venues: set[int] = set()
        for person_id, gid in group_of.items():
            info = groups.get(gid)
            if info is None:
                member = self.members[person_id]
                kind = {"h": "household", "v": "venue", "a": "area"}[gid[0]]
                info = groups[gid] = {
                    "id": gid,
                    "kind": kind,
                    "count": 0,
                    "cases": 0,
                    "internal": 0,
                    "path": member.path,
                }
                if kind == "household":
                    households.add(int(gid[1:]))
                elif kind == "venue":
                    venues.add(int(gid[1:]))
            info["count"] += 1
            if self.members[person_id].role == MemberRole.CASE:
                info["cases"] += 1
        household_names = (
            dict(Household.objects.visible_to(self.user).filter(pk__in=households).values_list("pk", "address"))
            if households
            else {}
        )
        venue_names = (
            dict(Venue.objects.visible_to(self.user).filter(pk__in=venues).values_list("pk", "name")) if venues else {}
        )
        for gid, info in groups.items():
            ref = gid[1:]
            if info["kind"] == "household":
                name = household_names.get(int(ref))
                info["name"] = _("Household: %(name)s") % {"name": name} if name else str(OTHER_JURISDICTION)
            elif info["kind"] == "venue":
                name = venue_names.get(int(ref))
                info["name"] = _("Venue: %(name)s") % {"name": name} if name else str(OTHER_JURISDICTION)
            else:
                covered = self.scope.covers_path(info["path"])
                info["name"] = _("Area %(path)s") % {"path": info["path"]} if covered else str(OTHER_JURISDICTION)
            del info["path"]
        return groups

    def aggregated(self, max_nodes: int) -> dict[str, Any]:
        """One node per household/venue/area, sized by its persons; edges summed between groups."""
        group_of = self.groups(max_nodes)
        groups = self._group_labels(group_of)
        links: dict[tuple[str, str], dict[str, Any]] = {}
        for edge in self.edges:
            a, b = group_of[edge.source], group_of[edge.target]
            if a == b:
                groups[a]["internal"] += 1
                continue
            link = links.get((a, b))
            if link is None:
                link = links[(a, b)] = {"count": 0, "settings": Counter(), "date": timezone.localdate(edge.start)}
            link["count"] += 1
            link["settings"][edge.setting] += 1
        nodes = [
            {"data": {**info, "label": f"{info['name']} ({info['count']})", "group": gid, "aggregate": True}}
            for gid, info in groups.items()
        ]
        edges = []
        for index, ((a, b), link) in enumerate(links.items()):
            setting = link["settings"].most_common(1)[0][0]
            setting_label = str(Setting(setting).label) if setting in Setting.values else setting
            edges.append(
                {
                    "data": {
                        "id": f"g{index}",
                        "source": a,
                        "target": b,
                        "count": link["count"],
                        "setting": setting,
                        "setting_label": setting_label,
                        "date": link["date"].isoformat(),
                        "label": f"{setting_label} ×{link['count']}",
                        "aggregate": True,
                    }
                }
            )
        return {
            "cluster": self.summary(),
            "mode": "aggregated",
            "persons": len(self.persons),
            "max_nodes": max_nodes,
            "nodes": nodes,
            "edges": edges,
        }

    def group(self, gid: str, max_nodes: int) -> dict[str, Any]:
        """Drill-down: the persons of one aggregate node and their exposures. Endpoints outside the group carry
        their group's id (``source_group``/``target_group``) so the page links them to what it shows."""
        group_of = self.groups(max_nodes)
        persons = [p for p in self.persons if group_of.get(p) == gid]
        truncated = len(persons) > max_nodes
        persons = persons[:max_nodes]
        inside = set(persons)
        edges = []
        for edge in self.edges:
            if edge.source in inside or edge.target in inside:
                data = self.edge_data(edge)
                data["source_group"] = group_of[edge.source]
                data["target_group"] = group_of[edge.target]
                edges.append({"data": data})
        return {
            "cluster": self.summary(),
            "mode": "group",
            "group": gid,
            "persons": len(persons),
            "truncated": truncated,
            "nodes": [{"data": self.person_data(p, group=gid)} for p in persons],
            "edges": edges,
        }

    def payload(self, *, group: str = "", max_nodes: int | None = None) -> dict[str, Any]:
        """What the page's graph loads: plain, aggregated above ``max_nodes`` persons, or one group's drill-down."""
        limit = max_nodes or settings.CLUSTER_GRAPH_MAX_NODES
        if group:
            return self.group(group, limit)
        if len(self.persons) > limit:
            return self.aggregated(limit)
        return self.plain()

    # -- plain rows for the API and exports ----------------------------------------------------------------------

    def member_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "node": m.node,
                "person": m.person_id if m.visible else None,
                "name": m.name if m.visible else str(OTHER_JURISDICTION),
                "role": m.role,
                "classification": m.classification,
                "path": m.path if m.visible else None,
            }
            for m in (self.members[p] for p in self.persons)
        ]

    def edge_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": e.id,
                "source": self.members[e.source].node,
                "target": self.members[e.target].node,
                "setting": e.setting,
                "start": e.start,
                "end": e.end,
                "status": e.status,
                "origin": e.origin,
                "venue": e.venue_id,
            }
            for e in self.edges
        ]
