"""Screening benchmarks: importing arrival lists and re-evaluating arrivals after a new high-risk area.

Called by ``bench.run`` after the city is seeded (Django is set up). Figures:

* import of N arrival rows from CSV and from xlsx (validation, dedup, risk matching, measure evaluation, grid
  assignment, audit), rows/s, against PostgreSQL ``COPY`` of the same rows into a plain table in the same run;
* peak memory of an import of ``--memory-rows`` rows, in a child process (``ru_maxrss``);
* re-evaluation after one new high-risk area with ``--reeval-arrivals`` arrivals stored.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HEADER = ["姓名", "身份证号", "手机号", "来源地", "抵达日期", "交通方式", "车次航班", "现住址", "健康码", "疫苗接种"]
TRANSPORT = ["火车", "飞机", "自驾", "大巴"]
NAMES = ["扎西", "才仁", "尼玛", "卓玛", "多杰", "拉毛", "旦增", "索南", "次仁", "格桑", "央金", "白玛"]


def counties() -> list[tuple[str, str]]:
    """(6-digit code, full name 省+市+区) of every county in cpca's national table."""
    import cpca

    path = Path(cpca.__file__).parent / "resources" / "adcodes.csv"
    names: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names[row["adcode"][:6]] = row["name"]
    result = []
    for code, name in names.items():
        if code.endswith("00"):
            continue
        province = names.get(code[:2] + "0000", "")
        prefecture = names.get(code[:4] + "00", "")
        if prefecture in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            prefecture = ""
        result.append((code, f"{province}{prefecture}{name}"))
    result.sort()
    return result


def load_risk_areas(
    count: int, *, today: datetime.date, rng: random.Random, places: Sequence[tuple[str, str]]
) -> list[str]:
    """``count`` more areas (beside the demo's) over random counties, a third with a 街道 scope, listed in the last
    weeks."""
    from firstline.riskareas.models import RiskArea, RiskAreaPeriod

    areas, specs = [], []
    for index in range(count):
        code, name = rng.choice(places)
        scope = f"第{index}街道" if index % 3 == 0 else ""
        level = rng.choices(["high", "medium", "low"], weights=[2, 3, 5])[0]
        start = today - datetime.timedelta(days=rng.randint(5, 40))
        areas.append(
            RiskArea(
                place=name + scope,
                division_code=code,
                scope_text=scope,
                level=level,
                effective_from=start,
                first_listed_on=start,
            )
        )
        specs.append((code, scope, level, start))
    created = RiskArea.objects.bulk_create(areas, batch_size=2000)
    RiskAreaPeriod.objects.bulk_create(
        [
            RiskAreaPeriod(area=area, level=level, valid_from=start, division_code=code, scope_text=scope)
            for area, (code, scope, level, start) in zip(created, specs, strict=True)
        ],
        batch_size=2000,
    )
    return sorted({code for code, *_rest in specs})


def write_rows(
    path: Path,
    *,
    rows: int,
    rng: random.Random,
    today: datetime.date,
    places: Sequence[tuple[str, str]],
    existing_ids: Sequence[str],
    addresses: Sequence[str],
    day_offset: int,
    fmt: str,
) -> None:
    """An arrival list: half the people already registered, origins all over China, addresses of real households."""
    from firstline.core.identity import resident_id_check_char

    data: list[list[Any]] = []
    for index in range(rows):
        if existing_ids and index % 2 == 0:
            id_number = existing_ids[(index // 2) % len(existing_ids)]
        else:
            born = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            body = f"{rng.choice(places)[0]}{born}{rng.randint(0, 999):03d}"
            id_number = body + resident_id_check_char(body)
        arrival = today - datetime.timedelta(days=(index + day_offset) % 9 + 1)
        data.append(
            [
                rng.choice(NAMES) + rng.choice(NAMES),
                id_number,
                f"1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d}",
                rng.choice(places)[1],
                arrival.isoformat() if index % 3 else f"{arrival.year}/{arrival.month}/{arrival.day}",
                rng.choice(TRANSPORT),
                f"Z{rng.randint(100, 9999)}",
                rng.choice(addresses),
                "绿码",
                str(rng.randint(0, 3)),
            ]
        )
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(data)
    else:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, HEADER)
        for number, row in enumerate(data, start=1):
            sheet.write_row(number, 0, row)
        book.close()


def run_import(path: Path, username: str) -> dict[str, Any]:
    """Import a file in this process through the same code as the command; returns figures."""
    from firstline.accounts.models import User
    from firstline.screening.imports.services import import_file

    actor = User.objects.get(username=username)
    started = time.perf_counter()
    job, summary = import_file(actor=actor, path=path, dry_run=False, valid_only=True)
    seconds = time.perf_counter() - started
    data = summary.as_dict()
    return {
        "rows": data["rows"],
        "seconds": round(seconds, 2),
        "rows_per_second": round(data["rows"] / seconds) if seconds else 0,
        "created": data["created"],
        "updated": data["updated"],
        "unchanged": data["unchanged"],
        "rejected": data["rejected"],
        "persons_created": data["persons_created"],
        "measures": data["measures"],
        "tasks": data["tasks"],
        "job": job.pk,
    }


def copy_baseline(path: Path) -> dict[str, Any]:
    """COPY of the same CSV rows into a plain table (text columns), in the same process and database."""
    from django.db import connection

    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_arrival_copy")
        cursor.execute(f"CREATE TABLE bench_arrival_copy ({columns})")
        raw = path.read_bytes()
        started = time.perf_counter()
        with cursor.copy("COPY bench_arrival_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:  # type: ignore[attr-defined]
            copy.write(raw)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_arrival_copy")
        row = cursor.fetchone()
        cursor.execute("DROP TABLE bench_arrival_copy")
    rows = int(row[0]) if row else 0
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_second": round(rows / seconds) if seconds else 0}


def memory_child(path: Path, username: str) -> dict[str, Any]:
    """Import in a child process and read its peak resident memory."""
    code = (
        "import json, os, resource, django, warnings;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE','firstline.settings');"
        "warnings.filterwarnings('ignore');django.setup();"
        "from bench.screening import run_import;"
        f"r = run_import(__import__('pathlib').Path({str(path)!r}), {username!r});"
        "r['peak_rss_mb'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024);"
        "print('RESULT ' + json.dumps(r))"
    )
    completed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=os.environ.copy()
    )
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"memory run failed: {completed.stderr[-3000:]}")


def store_arrivals(count: int, *, today: datetime.date, rng: random.Random, places: Sequence[tuple[str, str]]) -> int:
    """Write ``count`` arrivals (one per existing person) with one travel item each, straight through COPY.

    Only for the re-evaluation benchmark: it measures finding and re-evaluating the arrivals a new area concerns
    among a million stored ones, not how they were registered (the import figures above measure that).
    """
    from django.db import connection

    from firstline.core.bulk import bulk_insert, reserve_ids
    from firstline.people.models import Person
    from firstline.screening.models import Arrival, TravelItem

    people = list(Person.objects.filter(arrivals__isnull=True).values_list("pk", "path").order_by("pk")[:count])
    ids = reserve_ids(Arrival, len(people))
    now = datetime.datetime.now(datetime.UTC)
    days = [today - datetime.timedelta(days=n) for n in range(60)]
    origins = [(code, name) for code, name in places]
    chosen = [rng.choice(origins) for _ in people]
    arrival_fields = ["id", "created_at", "updated_at", "version", "person_id", "path", "origin", "arrival_date"]
    arrival_fields += ["transport", "transport_no", "health_code", "destination_address", "release_certificate"]
    arrival_fields += ["source", "status", "needs_review", "note"]
    started = time.perf_counter()
    bulk_insert(
        Arrival,
        arrival_fields,
        (
            (
                pk,
                now,
                now,
                1,
                person,
                path,
                origin[1],
                days[pk % 60],
                "",
                "",
                "",
                "",
                False,
                "import",
                "verified",
                False,
                "",
            )
            for pk, (person, path), origin in zip(ids, people, chosen, strict=True)
        ),
    )
    travel_ids = reserve_ids(TravelItem, len(people))
    bulk_insert(
        TravelItem,
        ["id", "arrival_id", "position", "place_text", "place_code", "place_remainder", "date_from", "date_to"],
        (
            (tid, pk, 0, origin[1], origin[0], "", days[pk % 60], days[pk % 60])
            for tid, pk, origin in zip(travel_ids, ids, chosen, strict=True)
        ),
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE screening_arrival, screening_travelitem")
    print(f"{len(people):,} arrivals stored by COPY in {time.perf_counter() - started:.1f} s (for the re-evaluation)")
    return len(people)


def time_reevaluation(*, today: datetime.date, rng: random.Random, username: str) -> dict[str, Any]:
    """Add one high-risk area over the most frequent origin county and time the background job (run inline)."""
    from django.db.models import Count

    from firstline.accounts.models import User
    from firstline.riskareas.models import RiskArea, RiskAreaPeriod
    from firstline.screening.models import Arrival, Reevaluation, TravelItem
    from firstline.screening.reevaluation import run_reevaluation

    actor = User.objects.get(username=username)
    top = TravelItem.objects.exclude(place_code="").values("place_code").annotate(n=Count("id")).order_by("-n").first()
    assert top is not None
    code = top["place_code"]
    start = today - datetime.timedelta(days=20)
    area = RiskArea.objects.create(
        place=f"bench {code}", division_code=code, level="high", effective_from=start, first_listed_on=start
    )
    RiskAreaPeriod.objects.create(area=area, level="high", valid_from=start, division_code=code)
    run = Reevaluation.objects.create(kind="areas", reason="bench", actor=actor, area_ids=[area.pk])
    started = time.perf_counter()
    run_reevaluation(run.pk)
    seconds = time.perf_counter() - started
    run.refresh_from_db()
    return {
        "arrivals_stored": Arrival.objects.count(),
        "area_code": code,
        "arrivals_checked": run.rows_total,
        "changed": sum(row["count"] for row in run.summary),
        "summary": run.summary,
        "seconds": round(seconds, 2),
    }


def benchmark(*, rows: int, memory_rows: int, risk_areas: int, seed: int, reeval_arrivals: int) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from firstline.people.models import Person
    from firstline.regions.models import Household

    rng = random.Random(seed)
    today = timezone.localdate()
    places = counties()
    started = time.perf_counter()
    load_risk_areas(risk_areas, today=today, rng=rng, places=places)
    print(f"{risk_areas:,} risk areas loaded in {time.perf_counter() - started:.1f} s")
    existing = list(Person.objects.order_by("?").values_list("id_number", flat=True)[: rows // 2]) if rows else []
    addresses = list(Household.objects.values_list("address", flat=True)[:50000])
    result: dict[str, Any] = {"rows": rows, "risk_areas": risk_areas}
    with tempfile.TemporaryDirectory(prefix="firstline-bench-import-") as folder:
        base = Path(folder)
        csv_path, xlsx_path = base / "arrivals.csv", base / "arrivals.xlsx"
        write_rows(
            csv_path,
            rows=rows,
            rng=rng,
            today=today,
            places=places,
            existing_ids=existing,
            addresses=addresses,
            day_offset=0,
            fmt="csv",
        )
        write_rows(
            xlsx_path,
            rows=rows,
            rng=rng,
            today=today,
            places=places,
            existing_ids=existing,
            addresses=addresses,
            day_offset=4,
            fmt="xlsx",
        )
        if connection.vendor == "postgresql":
            result["copy"] = copy_baseline(csv_path)
            print(
                f"COPY baseline: {result['copy']['rows']:,} rows in {result['copy']['seconds']} s "
                f"({result['copy']['rows_per_second']:,}/s)"
            )
        result["csv"] = run_import(csv_path, "city")
        print(
            f"CSV import: {result['csv']['rows']:,} rows in {result['csv']['seconds']} s "
            f"({result['csv']['rows_per_second']:,}/s); created {result['csv']['created']:,}, "
            f"measures {result['csv']['measures']}"
        )
        if "copy" in result:
            result["csv"]["speed_vs_copy"] = round(
                result["csv"]["rows_per_second"] / result["copy"]["rows_per_second"], 3
            )
            print(f"CSV import speed / COPY speed = {result['csv']['speed_vs_copy']} (target ≥ 0.4)")
        result["xlsx"] = run_import(xlsx_path, "city")
        print(
            f"xlsx import: {result['xlsx']['rows']:,} rows in {result['xlsx']['seconds']} s "
            f"({result['xlsx']['rows_per_second']:,}/s; target ≥ 30,000/s)"
        )
        if memory_rows:
            big = base / "big.csv"
            write_rows(
                big,
                rows=memory_rows,
                rng=rng,
                today=today,
                places=places,
                existing_ids=[],
                addresses=addresses,
                day_offset=2,
                fmt="csv",
            )
            result["memory"] = memory_child(big, "city")
            print(
                f"import of {memory_rows:,} rows in a child process: {result['memory']['seconds']} s, "
                f"peak RSS {result['memory']['peak_rss_mb']} MB (target < 1024 MB)"
            )
    if reeval_arrivals:
        store_arrivals(reeval_arrivals, today=today, rng=rng, places=places)
    result["reevaluation"] = time_reevaluation(today=today, rng=rng, username="city")
    re = result["reevaluation"]
    print(
        f"re-evaluation after one new high-risk area ({re['area_code']}) over {re['arrivals_stored']:,} arrivals: "
        f"{re['arrivals_checked']:,} checked, {re['changed']:,} changed, {re['seconds']} s (target ≤ 10 s)"
    )
    result["max_rss_mb_parent"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result
