"""Transmission clusters: components over counted exposures, stable keys, the active flag by the edition's
follow-up period, roles, and the set-based recompute (idempotent). Test data is written with the ORM directly."""

from __future__ import annotations

import datetime
import itertools
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from conftest import make_person, valid_id
from firstline.policy.models import EditionStatus, MeasureRule, PolicyEdition
from firstline.tracing.clusters import compute
from firstline.tracing.clusters.services import clusters_recompute
from firstline.tracing.models import Case, Cluster, ClusterMember, Contact, Exposure

_serial = itertools.count(100)


# -- helpers (also used by test_clusters_pages) -------------------------------------------------------------------


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def today() -> datetime.date:
    return timezone.localdate()


def new_person(household: Any, name: str) -> Any:
    n = next(_serial)
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=n // 400)
    body = f"632701{birth:%Y%m%d}{n % 400 * 2 + 1:03d}"
    return make_person(household=household, name=name, id_number=valid_id(body))


def new_case(person: Any, *, classification: str = "confirmed", report_date: datetime.date | None = None) -> Case:
    report_date = report_date or today()
    return Case.objects.create(
        person=person,
        path=person.path,
        classification=classification,
        report_date=report_date,
        infectious_from=report_date - datetime.timedelta(days=4),
        infectious_until=report_date,
    )


def expose(
    source: Any,
    exposed: Any,
    *,
    days_ago: int = 3,
    status: str = "confirmed",
    setting: str = "household",
    venue: Any = None,
) -> Exposure:
    start = at(today() - datetime.timedelta(days=days_ago))
    return Exposure.objects.create(
        source=source,
        exposed=exposed,
        path=exposed.path,
        start=start,
        end=start + datetime.timedelta(hours=1),
        setting=setting,
        origin="copresence" if venue is not None else "manual",
        status=status,
        venue=venue,
    )


def new_contact(person: Any, *, kind: str = "close", status: str = "active") -> Contact:
    now = timezone.now()
    return Contact.objects.create(
        person=person, path=person.path, kind=kind, status=status, first_exposure_at=now, last_exposure_at=now
    )


def edition(*, effective_from: datetime.date, duration: int, follow_on: int | None = None) -> PolicyEdition:
    book = PolicyEdition.objects.create(
        name=f"edition {effective_from}", effective_from=effective_from, status=EditionStatus.PUBLISHED
    )
    MeasureRule.objects.create(
        edition=book,
        trigger="close_contact",
        measure="centralised_quarantine",
        duration_days=duration,
        anchor="last_exposure",
        follow_on_measure="home_health_monitoring" if follow_on else "",
        follow_on_days=follow_on,
    )
    return book


def cluster_of(person: Any) -> Cluster:
    return ClusterMember.objects.select_related("cluster").get(person=person).cluster


# -- pure computation ---------------------------------------------------------------------------------------------


def test_a_chain_is_one_component_keyed_by_its_smallest_person():
    assert compute.components([(5, 3), (3, 9)]) == {3: 3, 5: 3, 9: 3}


def test_two_separate_chains_are_two_components():
    assert compute.components([(1, 2), (2, 3), (10, 11)]) == {1: 1, 2: 1, 3: 1, 10: 10, 11: 10}


def test_sparse_person_ids_give_the_same_components():
    pairs = [(7_000_000_001, 9_000_000_000), (9_000_000_000, 8_000_000_000), (5, 6)]
    result = compute.components(pairs)
    assert result == {
        7_000_000_001: 7_000_000_001,
        8_000_000_000: 7_000_000_001,
        9_000_000_000: 7_000_000_001,
        5: 5,
        6: 5,
    }


def test_merging_late_joins_the_trees_at_their_smallest_roots():
    # Two trees built apart, then joined through their deepest members.
    pairs = [(10, 11), (11, 12), (1, 2), (2, 3), (12, 3)]
    assert set(compute.components(pairs).values()) == {1}


def test_active_end_dates_follow_the_edition_in_force_on_each_end_date():
    day = datetime.date(2022, 7, 1)

    # Before 28 June: 14 + 7 days; from 28 June: 7 + 3 days.
    def follow_up(d: datetime.date) -> int:
        return 10 if d >= datetime.date(2022, 6, 28) else 21

    intervals = compute.active_end_dates(follow_up, today=day, longest=21)
    # 10 June .. 27 June still within 21 days; 28 June onwards within 10 days; and any later end.
    assert intervals == [(datetime.date(2022, 6, 10), None)]
    day = datetime.date(2022, 7, 15)
    intervals = compute.active_end_dates(follow_up, today=day, longest=21)
    # 24..27 June (21 days) are active, 28 June .. 4 July (10 days) are not, 5 July onwards are.
    assert intervals == [
        (datetime.date(2022, 6, 24), datetime.date(2022, 6, 27)),
        (datetime.date(2022, 7, 5), None),
    ]


# -- recompute ----------------------------------------------------------------------------------------------------


@pytest.fixture
def chain(city: Any) -> dict[str, Any]:
    """a (case, grid A) → b (close contact, grid A) → c (secondary contact, grid A)."""
    a = city.person_a
    b = new_person(city.household_a, "索南")
    c = new_person(city.household_a2, "拉毛")
    new_case(a)
    new_contact(b, kind="close")
    new_contact(c, kind="secondary")
    expose(a, b, days_ago=5)
    expose(b, c, days_ago=2)
    return {"a": a, "b": b, "c": c}


def test_a_chain_a_b_c_is_one_cluster_with_roles(chain):
    report = clusters_recompute()
    assert (report.clusters, report.members, report.created) == (1, 3, 1)
    cluster = Cluster.objects.get()
    a, b, c = chain["a"], chain["b"], chain["c"]
    assert cluster.key == min(a.pk, b.pk, c.pk)
    assert cluster.label == f"C-{cluster.key}"
    assert (cluster.size, cluster.case_count, cluster.exposure_count) == (3, 1, 2)
    assert cluster.first_date == today() - datetime.timedelta(days=5)
    assert cluster.last_date == today() - datetime.timedelta(days=2)
    assert cluster.path == a.path
    roles = {m.person_id: (m.role, m.classification, m.path) for m in ClusterMember.objects.all()}
    assert roles == {
        a.pk: ("case", "confirmed", a.path),
        b.pk: ("close", "", b.path),
        c.pk: ("secondary", "", c.path),
    }


def test_two_separate_chains_are_two_clusters(city, chain):
    d, e = city.person_b, city.person_c
    expose(d, e)
    clusters_recompute()
    assert Cluster.objects.count() == 2
    assert cluster_of(d) == cluster_of(e) != cluster_of(chain["a"])


def test_rejected_and_candidate_exposures_do_not_join_clusters(city, chain):
    d = city.person_b
    expose(chain["c"], d, status="rejected")
    expose(d, chain["a"], status="candidate")
    clusters_recompute()
    assert Cluster.objects.count() == 1
    assert not ClusterMember.objects.filter(person=d).exists()


def test_persons_in_no_exposure_are_in_no_cluster(city):
    clusters_recompute()
    assert not Cluster.objects.exists()
    assert not ClusterMember.objects.exists()


def test_a_growing_cluster_keeps_its_id_and_a_merged_one_disappears(city, chain):
    clusters_recompute()
    cluster = Cluster.objects.get()
    d, e = city.person_b, city.person_c
    expose(d, e)
    clusters_recompute()
    other = cluster_of(d)
    assert other.pk != cluster.pk
    # d/e join the chain: the cluster with the smaller key keeps its row; the other is deleted.
    expose(chain["c"], d)
    report = clusters_recompute()
    keeper_key = min(p.pk for p in (*chain.values(), d, e))
    merged = Cluster.objects.get()
    assert merged.key == keeper_key
    assert merged.pk == (cluster.pk if cluster.key == keeper_key else other.pk)
    assert merged.size == 5
    assert report.deleted == 1
    assert ClusterMember.objects.filter(cluster=merged).count() == 5


def test_recompute_is_idempotent(chain):
    first = clusters_recompute()
    cluster = Cluster.objects.get()
    members = list(ClusterMember.objects.order_by("person_id").values_list("pk", "person_id", "role"))
    second = clusters_recompute()
    assert first.members_written == 3
    assert (second.created, second.updated, second.deleted, second.members_written, second.members_deleted) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert Cluster.objects.get().updated_at == cluster.updated_at
    assert list(ClusterMember.objects.order_by("person_id").values_list("pk", "person_id", "role")) == members


def test_a_rejected_exposure_splits_the_cluster_on_the_next_recompute(chain):
    clusters_recompute()
    Exposure.objects.filter(source=chain["b"], exposed=chain["c"]).update(status="rejected")
    report = clusters_recompute()
    assert report.members_deleted == 1
    assert not ClusterMember.objects.filter(person=chain["c"]).exists()
    assert Cluster.objects.get().size == 2


def test_role_changes_are_written(chain):
    clusters_recompute()
    Contact.objects.filter(person=chain["b"]).update(status="released")
    new_case(chain["c"], classification="asymptomatic")
    report = clusters_recompute()
    assert report.members_written == 2 and report.updated == 1
    roles = dict(ClusterMember.objects.values_list("person_id", "role"))
    assert roles[chain["b"].pk] == "other" and roles[chain["c"].pk] == "case"
    assert ClusterMember.objects.get(person=chain["c"]).classification == "asymptomatic"
    assert Cluster.objects.get().case_count == 2


def test_an_excluded_case_is_no_case(city):
    a, b = city.person_a, city.person_b
    new_case(a, classification="excluded")
    expose(a, b)
    clusters_recompute()
    cluster = Cluster.objects.get()
    assert cluster.case_count == 0
    assert ClusterMember.objects.get(person=a).role == "other"
    # Without a case the path is the smallest person's.
    assert cluster.path == min((a, b), key=lambda p: p.pk).path


def test_the_cluster_path_is_its_earliest_reported_case(city):
    a, b, c = city.person_a, city.person_b, city.person_c
    new_case(a, report_date=today())
    new_case(c, report_date=today() - datetime.timedelta(days=3))
    expose(a, b)
    expose(b, c)
    clusters_recompute()
    assert Cluster.objects.get().path == c.path


def test_active_uses_the_close_contact_follow_up_of_the_edition_in_force(city):
    a, b, c, d = city.person_a, city.person_b, city.person_c, new_person(city.household_a, "多杰")
    # A local edition newer than the shipped 9th (7 + 3 days): 5 days + 2 of home monitoring.
    edition(effective_from=today() - datetime.timedelta(days=60), duration=5, follow_on=2)
    expose(a, b, days_ago=6)  # ended 6 days ago: still followed
    expose(c, d, days_ago=8)  # beyond 5 + 2 days
    clusters_recompute()
    assert cluster_of(a).active is True
    assert cluster_of(c).active is False


def test_without_a_close_contact_rule_the_follow_up_is_fourteen_days(city):
    PolicyEdition.objects.all().delete()  # the shipped editions
    a, b, c, d = city.person_a, city.person_b, city.person_c, new_person(city.household_a, "多杰")
    expose(a, b, days_ago=13)
    expose(c, d, days_ago=16)
    clusters_recompute()
    assert cluster_of(a).active is True
    assert cluster_of(c).active is False


def test_the_active_flag_follows_the_day_of_the_recompute(city):
    a, b = city.person_a, city.person_b
    expose(a, b, days_ago=3)
    clusters_recompute()
    assert Cluster.objects.get().active is True
    report = clusters_recompute(now=timezone.now() + datetime.timedelta(days=30))
    assert report.updated == 1
    assert Cluster.objects.get().active is False


def test_the_task_and_the_command_recompute(city, chain):
    from firstline.tracing.clusters.tasks import recompute_clusters

    figures = recompute_clusters.delay().get()
    assert figures["clusters"] == 1 and figures["members"] == 3
    out = StringIO()
    call_command("recompute_clusters", "--json", stdout=out)
    assert json.loads(out.getvalue())["members_written"] == 0


def test_a_cluster_whose_exposures_are_all_rejected_vanishes(chain):
    clusters_recompute()
    Exposure.objects.update(status="rejected")
    report = clusters_recompute()
    assert (report.clusters, report.deleted, report.members_deleted) == (0, 1, 3)
    assert not Cluster.objects.exists() and not ClusterMember.objects.exists()


def test_a_person_who_moved_gets_the_new_path(city, chain):
    clusters_recompute()
    member = ClusterMember.objects.get(person=chain["c"])
    type(chain["c"]).objects.filter(pk=chain["c"].pk).update(path=city.grid_b.path)
    report = clusters_recompute()
    assert report.members_written == 1 and report.members_deleted == 1
    moved = ClusterMember.objects.get(person=chain["c"])
    assert moved.path == city.grid_b.path and moved.cluster_id == member.cluster_id
