"""Import pages and API: upload, mapping screen, dry run, import, error workbook, scoping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from firstline.screening.models import Arrival, ImportJob, ImportStatus
from firstline.screening.tests.test_imports import bad_rows, csv_file, good_rows


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(client: Any, path: Path) -> Any:
    with path.open("rb") as handle:
        return client.post(reverse("screening:imports:upload"), {"file": handle})


def test_township_uploads_checks_and_imports_the_valid_rows(
    client: Any, city: Any, login: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    login("township")
    response = upload(client, csv_file(tmp_path, [*good_rows(city), bad_rows(city)[1]]))
    assert response.status_code == 302
    job = ImportJob.objects.get()
    page = client.get(response["Location"])
    assert page.status_code == 200 and "身份证号" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:imports:run", args=[job.pk]), {"action": "check"})
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and job.summary["rejected"] == 1 and not Arrival.objects.exists()
    page = client.get(reverse("screening:imports:detail", args=[job.pk])).content.decode()
    assert 'data-testid="row-errors"' in page and "id_number" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:imports:run", args=[job.pk]), {"mode": "valid"})
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.summary["created"] == 3 and Arrival.objects.count() == 3
    workbook = client.get(reverse("screening:imports:errors", args=[job.pk]))
    assert workbook.status_code == 200 and workbook["Content-Disposition"].startswith("attachment")
    report = client.get(reverse("screening:imports:report", args=[job.pk])).json()
    assert (report["rows"], report["created"], report["rejected"]) == (4, 3, 1)


def test_mapping_screen_saves_a_mapping_and_reports_missing_fields(
    client: Any, city: Any, login: Any, tmp_path: Path
) -> None:
    login("township")
    header = ["人员", "证件", "抵达"]
    upload(client, csv_file(tmp_path, [["旦增", "x", "2022-07-18"]], header=header))
    job = ImportJob.objects.get()
    url = reverse("screening:imports:detail", args=[job.pk])
    page = client.post(url, {"save_mapping": "1", "map_name": "0"})
    assert page.status_code == 200 and "is-invalid" in page.content.decode()
    response = client.post(url, {"save_mapping": "1", "map_name": "0", "map_id_number": "1", "map_arrival_date": "2"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.mapping == {"name": 0, "id_number": 1, "arrival_date": 2}


def test_a_bad_file_type_is_refused_with_the_accepted_formats(client: Any, login: Any, city: Any) -> None:
    login("township")
    response = client.post(reverse("screening:imports:upload"), {"file": SimpleUploadedFile("list.pdf", b"%PDF")})
    assert response.status_code == 200 and "xlsx" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_imports_of_another_township_are_not_found_and_grid_workers_are_forbidden(
    client: Any, city: Any, login: Any, tmp_path: Path
) -> None:
    login("township")
    upload(client, csv_file(tmp_path, good_rows(city)))
    job = ImportJob.objects.get()
    login("other_township")
    assert client.get(reverse("screening:imports:detail", args=[job.pk])).status_code == 404
    login("grid_a")
    assert client.get(reverse("screening:imports:list")).status_code == 403
    # the city command's scope covers the township: it sees the job but cannot run someone else's upload
    login("city")
    city_client = client
    assert city_client.get(reverse("screening:imports:detail", args=[job.pk])).status_code == 200
    response = city_client.post(reverse("screening:imports:run", args=[job.pk]), {"action": "check"})
    assert response.status_code == 404


def test_import_list_is_filtered_exported_and_does_not_grow_queries(
    client: Any, city: Any, login: Any, tmp_path: Path, django_assert_max_num_queries: Any
) -> None:
    login("township")
    for number in range(3):
        upload(client, csv_file(tmp_path, good_rows(city), name=f"list{number}.csv"))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("screening:imports:list"))
    assert page.content.decode().count("list") >= 3
    assert client.get(reverse("screening:imports:list"), {"status": "done"}).context["page_obj"].paginator.count == 0
    export = client.get(reverse("screening:imports:list"), {"export": "csv"})
    assert export.status_code == 200 and "list0.csv" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_api_upload_map_run_and_report(
    city: Any, api: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client = api("township")
    path = csv_file(tmp_path, good_rows(city))
    with path.open("rb") as handle:
        created = client.post("/api/v1/imports/", {"file": handle}, format="multipart")
    assert created.status_code == 201, created.content
    job_id = created.json()["id"]
    assert created.json()["mapping"]["id_number"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        ran = client.post(f"/api/v1/imports/{job_id}/run/", {"dry_run": False, "mode": "all"}, format="json")
    assert ran.status_code == 202
    status = client.get(f"/api/v1/imports/{job_id}/").json()
    assert status["status"] == "done" and status["progress"]["rows_done"] == 3
    report = client.get(f"/api/v1/imports/{job_id}/report/").json()
    assert (report["created"], report["errors"]) == (3, [])
    assert api("other_township").get(f"/api/v1/imports/{job_id}/").status_code == 404
    assert api("grid_a").get("/api/v1/imports/").status_code == 403
    bad = client.post(f"/api/v1/imports/{job_id}/mapping/", {"mapping": {"name": 0}}, format="json")
    assert bad.status_code == 400 and "id_number" in bad.json()


def test_the_error_workbook_is_only_for_the_uploader_or_full_pii_roles(
    client: Any, city: Any, login: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    login("township")
    upload(client, csv_file(tmp_path, [*good_rows(city), bad_rows(city)[1]]))
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("screening:imports:run", args=[job.pk]), {"action": "check"})
    url = reverse("screening:imports:errors", args=[job.pk])
    assert client.get(url).status_code == 200
    login("city")  # sees the job, but not full ID numbers
    assert client.get(url).status_code == 404
