"""Lab result lists: header synonyms, row errors on a dry run, matching to samplings, idempotent re-import,
all-or-nothing, what results set off, the shared import pages and API, and the PostgreSQL path agreeing with the
ORM path."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from conftest import valid_id
from firstline.core.models import AuditEvent
from firstline.dispatch.models import Task, TaskPriority
from firstline.quarantine.models import Sampling
from firstline.quarantine.testing import results_import, services
from firstline.quarantine.tests.factories import at, days, today
from firstline.quarantine.tests.test_testing_services import first, neighbour, place, taken
from firstline.screening.models import ImportJob, ImportStatus
from firstline.tracing.models import Case

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the set-based import path runs on PostgreSQL only"
)

HEADER = ["姓名", "身份证号", "采样时间", "检测结果", "检测机构", "试管编码"]
LAB = "玉树州疾控中心实验室"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def lab_file(tmp_path: Path, rows: list[list[str]], *, header: list[str] = HEADER, name: str = "lab.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n", encoding="utf-8-sig")
    return path


def run(city: Any, path: Path, *, actor: str = "cdc", dry_run: bool = False, valid_only: bool = False) -> dict:
    with translation.override("en"):
        return results_import.import_file(
            actor=city[actor], path=path, filename=path.name, dry_run=dry_run, valid_only=valid_only
        )


def when(day: datetime.date, hour: int = 9) -> str:
    return f"{day.isoformat()} {hour:02d}:30"


def errors_by_row(summary: dict) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for error in summary["errors"]:
        found.setdefault(error["row"], set()).add(error["field"])
    return found


def test_results_land_on_the_scheduled_sampling_by_day_and_by_tube(city: Any, sites: Any, tmp_path: Path) -> None:
    by_day = place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1, 2))
    by_tube = place(city.person_b, start=days(-1), test_days=(1,))
    tube_sampling = taken(city, first(by_tube), "grid_b", tube="Q-77")
    rows = [
        ["扎西多杰", city.person_a.id_number, when(days(-1)), "阴性", LAB, ""],
        ["", city.person_b.id_number, when(days(-3)), "negative", LAB, "q-77"],  # the tube decides, not the day
    ]
    summary = run(city, lab_file(tmp_path, rows))
    assert (summary["created"], summary["updated"], summary["unchanged"], summary["rejected"]) == (2, 0, 0, 0)
    assert summary["samplings_added"] == 0 and summary["written"]
    day_sampling = Sampling.objects.get(placement=by_day, due_date=days(-1))
    assert (day_sampling.status, day_sampling.result, day_sampling.lab) == ("sampled", "negative", LAB)
    assert day_sampling.sampled_at == at(days(-1), 9, 30) and day_sampling.result_source == "import"
    tube_sampling.refresh_from_db()
    assert tube_sampling.result == "negative" and tube_sampling.import_job_id == summary["job"]


def test_a_result_without_a_sampling_adds_an_unscheduled_one_where_the_person_is(
    city: Any, sites: Any, tmp_path: Path
) -> None:
    placement = place(city.person_a, room=sites.rooms["101"], start=days(-3), test_days=(1,))
    summary = run(city, lab_file(tmp_path, [["", city.person_a.id_number, when(days(-1)), "阴性", LAB, "N-1"]]))
    assert summary["samplings_added"] == 1
    added = Sampling.objects.get(tube_code="N-1")
    assert added.due_date is None and added.placement == placement and added.facility == sites.main
    assert added.path == placement.path and added.site_path == sites.main.path
    assert (added.status, added.result) == ("sampled", "negative")


def test_a_dry_run_reports_each_bad_row_and_field_and_writes_nothing(city: Any, sites: Any, tmp_path: Path) -> None:
    place(city.person_a, start=days(-1), test_days=(1,))
    other = taken(city, first(place(city.person_b, start=days(-1), test_days=(1,))), "grid_b", tube="B-1")
    future = (timezone.localtime() + datetime.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    unknown = valid_id("63270119990909123")
    wrong_check = city.person_a.id_number[:-1] + ("0" if city.person_a.id_number[-1] != "0" else "1")
    rows = [
        ["", city.person_a.id_number, when(days(-1)), "阴性", LAB, ""],  # 2: fine
        ["", unknown, when(days(-1)), "阴性", LAB, ""],  # 3: nobody has this ID
        ["", city.person_a.id_number, "2022-13-40 08:00", "阴性", LAB, ""],  # 4: not a time
        ["", city.person_a.id_number, when(days(-2)), "弱阳", LAB, ""],  # 5: unknown result
        ["", city.person_a.id_number, future, "阴性", LAB, ""],  # 6: sampled in the future
        ["", wrong_check, when(days(-1)), "阴性", LAB, ""],  # 7: a typo in the ID number
        ["李四", city.person_c.id_number, when(days(-1)), "阴性", LAB, ""],  # 8: name of someone else
        ["", city.person_c.id_number, when(days(-1)), "阴性", LAB, "B-1"],  # 9: another person's tube
        ["", city.person_a.id_number, when(days(-1), 15), "阴性", LAB, ""],  # 10: row 2 again
        ["", city.person_a.id_number, when(days(-2)), "阴性", "", ""],  # 11: no lab
    ]
    summary = run(city, lab_file(tmp_path, rows), dry_run=True)
    assert errors_by_row(summary) == {
        3: {"id_number"},
        4: {"sampled_at"},
        5: {"result"},
        6: {"sampled_at"},
        7: {"id_number"},
        8: {"name"},
        9: {"tube_code"},
        10: {"id_number"},
        11: {"lab"},
    }
    reasons = {e["row"]: e["reason"] for e in summary["errors"]}
    assert "No person" in reasons[3] and "future" in reasons[6] and "check" in reasons[7] and "row 2" in reasons[10]
    assert (summary["rows"], summary["rejected"], summary["created"], summary["written"]) == (10, 9, 1, False)
    assert not Sampling.objects.filter(result__gt="").exists()
    other.refresh_from_db()
    assert other.result == ""


def test_all_or_nothing_writes_nothing_when_a_row_is_rejected_and_valid_only_writes_the_rest(
    city: Any, tmp_path: Path
) -> None:
    place(city.person_a, start=days(-1), test_days=(1,))
    rows = [
        ["", city.person_a.id_number, when(days(-1)), "阴性", LAB, ""],
        ["", valid_id("63270119990909123"), when(days(-1)), "阴性", LAB, ""],
    ]
    path = lab_file(tmp_path, rows)
    refused = run(city, path)
    assert refused["rejected"] == 1 and not refused["written"]
    job = ImportJob.objects.get(pk=refused["job"])
    assert job.status == ImportStatus.FAILED and "Nothing was imported" in job.message and job.error_file
    assert not Sampling.objects.filter(result__gt="").exists()
    partial = run(city, path, valid_only=True)
    assert partial["written"] and partial["created"] == 1 and partial["rejected"] == 1
    assert Sampling.objects.filter(result="negative").count() == 1


def test_importing_the_same_file_twice_changes_nothing(city: Any, sites: Any, tmp_path: Path) -> None:
    place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1,))
    rows = [
        ["", city.person_a.id_number, when(days(-1)), "阴性", LAB, "A-1"],
        ["", city.person_b.id_number, when(days(-1)), "阴性", LAB, ""],  # no sampling: an unscheduled one is added
    ]
    path = lab_file(tmp_path, rows)
    first_run = run(city, path)
    assert (first_run["created"], first_run["samplings_added"]) == (2, 1)
    state = list(Sampling.objects.order_by("id").values())
    audit_rows = AuditEvent.objects.count()
    second = run(city, path)
    assert (second["created"], second["updated"], second["unchanged"], second["samplings_added"]) == (0, 0, 2, 0)
    assert list(Sampling.objects.order_by("id").values()) == state
    # The second job's own events (upload, run) only: no sampling was written.
    assert AuditEvent.objects.exclude(content_type__model="importjob").count() == audit_rows - 2


def test_a_changed_result_updates_the_sampling_and_is_audited(city: Any, sites: Any, tmp_path: Path) -> None:
    place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1,))
    run(city, lab_file(tmp_path, [["", city.person_a.id_number, when(days(-1)), "阴性", LAB, "A-1"]]))
    summary = run(
        city, lab_file(tmp_path, [["", city.person_a.id_number, when(days(-1)), "阴性", "复核实验室", "A-1"]])
    )
    assert (summary["created"], summary["updated"]) == (0, 1)
    sampling = Sampling.objects.get(tube_code="A-1")
    event = AuditEvent.objects.get(object_id=str(sampling.pk), note=f"import {summary['job']}")
    assert event.changes == {"lab": [LAB, "复核实验室"]} and event.version == sampling.version


def test_an_imported_positive_makes_the_case_and_the_cdc_task_and_an_invalid_a_repeat(
    city: Any, sites: Any, tmp_path: Path
) -> None:
    place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1,))
    place(city.person_b, start=days(-1), test_days=(1,))
    rows = [
        ["", city.person_a.id_number, when(days(-1)), "阳性", LAB, "P-1"],
        ["", city.person_b.id_number, when(days(-1)), "无效", LAB, ""],
    ]
    summary = run(city, lab_file(tmp_path, rows), actor="site")
    assert summary["rejected"] == 1  # the site's staff import for the people at their site only
    summary = run(city, lab_file(tmp_path, rows))
    assert (summary["positives"], summary["repeats"]) == (1, 1)
    case = Case.objects.get(person=city.person_a)
    assert Sampling.objects.get(tube_code="P-1").case == case
    assert Task.objects.filter(object_id=str(case.pk), assignee_user=city["cdc"], priority=TaskPriority.URGENT).exists()
    assert Sampling.objects.filter(person=city.person_b, due_date=today() + datetime.timedelta(days=1)).exists()
    corrected = run(city, lab_file(tmp_path, [["", city.person_a.id_number, when(days(-1)), "阴性", LAB, "P-1"]]))
    assert corrected["cases_kept"] == 1 and corrected["notes"]
    assert Case.objects.filter(person=city.person_a).exists()


def test_english_headers_and_a_header_below_a_title_are_recognised(city: Any, tmp_path: Path) -> None:
    place(city.person_a, start=days(-1), test_days=(1,))
    path = tmp_path / "lab-en.csv"
    path.write_text(
        "Nucleic acid results 2022-07-18\n"
        "ID number,Sampling time,Result,Laboratory\n"
        f"{city.person_a.id_number},{when(days(-1))},Negative,Lab 1\n",
        encoding="utf-8",
    )
    summary = run(city, path)
    assert summary["created"] == 1 and summary["errors"] == []


# -- the shared pages and the API -----------------------------------------------------------------------------------


def test_site_staff_upload_check_and_import_through_the_shared_pages(
    client: Any, city: Any, sites: Any, login: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1,))
    login("site")
    path = lab_file(tmp_path, [["", city.person_a.id_number, when(days(-1)), "阴性", LAB, "S-1"]])
    with path.open("rb") as handle:
        response = client.post(reverse("quarantine:results_import"), {"file": handle})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.kind == "lab_results" and job.mapping == {
        "name": 0,
        "id_number": 1,
        "sampled_at": 2,
        "result": 3,
        "lab": 4,
        "tube_code": 5,
    }
    page = client.get(response["Location"])
    assert page.status_code == 200 and "采样时间" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:imports:run", args=[job.pk]), {"action": "check"})
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and job.summary["created"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:imports:run", args=[job.pk]), {"mode": "all"})
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Sampling.objects.get(tube_code="S-1").result == "negative"
    listing = client.get(reverse("quarantine:results_import"))
    assert job.original_name in listing.content.decode()
    progress = client.get(reverse("screening:imports:progress", args=[job.pk])).json()
    assert progress["status"] == "done" and progress["rows_done"] == 1


def test_the_results_import_needs_the_result_permission(client: Any, city: Any, login: Any, tmp_path: Path) -> None:
    job = ImportJob.objects.create(
        kind="lab_results", original_name="x.csv", uploaded_by=city["cdc"], path="632701001001"
    )
    login("grid_a")
    assert client.get(reverse("quarantine:results_import")).status_code == 403
    assert client.get(reverse("screening:imports:detail", args=[job.pk])).status_code in (403, 404)
    login("township")  # sees the job (inside the jurisdiction) but may not enter results
    assert client.get(reverse("screening:imports:detail", args=[job.pk])).status_code == 403


def test_the_api_uploads_a_lab_list_and_answers_the_job_to_follow(
    api: Any, city: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    place(city.person_a, start=days(-1), test_days=(1,))
    path = lab_file(tmp_path, [["", city.person_a.id_number, when(days(-1)), "阴性", LAB, ""]])
    client = api("cdc")
    with path.open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/results/import/", {"file": handle, "dry_run": "false"}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    job = client.get(body["status_url"]).json()
    assert job["id"] == body["id"] and job["status"] == "done" and job["summary"]["created"] == 1
    assert api("grid_a").post("/api/v1/results/import/", {}, format="multipart").status_code == 403
    assert api("grid_a").get(body["status_url"]).status_code in (403, 404)


# -- the two paths agree --------------------------------------------------------------------------------------------


def _state(job_id: int) -> list[tuple[Any, ...]]:
    rows = Sampling.objects.order_by("person_id", "due_date", "tube_code", "id").values_list(
        "person_id",
        "due_date",
        "status",
        "sampled_at",
        "tube_code",
        "result",
        "lab",
        "result_source",
        "placement_id",
        "facility_id",
        "path",
        "site_path",
        "version",
    )
    events = AuditEvent.objects.filter(note=f"import {job_id}").order_by("object_id")
    return [*rows, *((e.action, e.version, sorted(e.changes)) for e in events)]


@postgres_only
def test_the_postgresql_path_and_the_orm_path_agree(city: Any, sites: Any, tmp_path: Path, monkeypatch: Any) -> None:
    place(city.person_a, room=sites.rooms["101"], start=days(-1), test_days=(1, 2))
    b = place(city.person_b, start=days(-1), test_days=(1,))
    taken(city, first(b), "grid_b", tube="B-1")
    c_sampling = services.sampling_record(
        actor=city["cdc"], person=city.person_c, sampled_at=at(days(-1), 7), tube_code=""
    )
    services.result_enter(actor=city["cdc"], sampling=c_sampling, result="negative", lab=LAB)
    extra = neighbour(city)
    rows = [
        ["", city.person_a.id_number, when(days(-1)), "阴性", LAB, "A-1"],  # scheduled, tube set
        ["", city.person_a.id_number, f"{today().isoformat()} 00:00", "阳性", LAB, ""],  # today's: positive
        ["", city.person_b.id_number, when(days(-4)), "阴性", LAB, "b-1"],  # by tube
        ["", city.person_c.id_number, when(days(-1), 11), "阴性", "复核", ""],  # unscheduled, lab changed
        ["", extra.id_number, when(days(-1)), "无效", LAB, "E-1"],  # nothing to match: added, repeat
        ["", extra.id_number, when(days(-1), 16), "阴性", LAB, "E-2"],  # second sample the same day
        ["", valid_id("63270119990909123"), when(days(-1)), "阴性", LAB, ""],  # unknown
        ["", city.person_c.id_number, when(days(-1)), "阴性", LAB, "B-1"],  # someone else's tube
        ["", city.person_a.id_number, when(days(-1), 12), "阴性", LAB, ""],  # row 2's sampling again
    ]
    path = lab_file(tmp_path, rows)
    outcomes = []
    for set_based in (True, False):
        monkeypatch.setattr(results_import, "_set_based", lambda value=set_based: value)
        with transaction.atomic():
            summary = run(city, path, valid_only=True)
            cases = sorted(Case.objects.values_list("person_id", "classification"))
            outcomes.append(({k: v for k, v in summary.items() if k != "job"}, _state(summary["job"]), cases))
            transaction.set_rollback(True)
    assert connection.vendor == "postgresql"
    (sql_summary, sql_state, sql_cases), (orm_summary, orm_state, orm_cases) = outcomes
    assert sql_summary == orm_summary
    assert sql_state == orm_state and sql_cases == orm_cases
    assert (sql_summary["created"], sql_summary["updated"], sql_summary["rejected"]) == (5, 1, 3)
