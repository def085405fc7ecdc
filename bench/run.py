"""Benchmark: seed a synthetic city, compare with a raw COPY, and time the person directory.

Run as ``python -m bench.run [--persons N] [--requests 200] [--sqlite]`` (or ``make bench``). Not a test: it
prints figures and writes them to ``bench/results/latest.json``. See bench/README.md for how to read them.

PostgreSQL (default): ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/firstline_bench``) names a
database that is DROPPED and re-created from the ``postgres`` maintenance database. ``--sqlite`` uses a
temporary SQLite file instead.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/firstline_bench"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_P95_MS = 100.0
WARMUP_REQUESTS = 10
_STAGE_LINE = re.compile(r"^(?P<stage>[^ ].*): done in (?P<seconds>[0-9.]+) s$")


# --- database set-up (before Django is configured) -------------------------------------------------------------


def recreate_postgres_database(url: str) -> str:
    """Drop and create the database named in ``url`` through the ``postgres`` maintenance database."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = str(conninfo_to_dict(url).get("dbname") or "")
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to drop database {name!r}: name a dedicated benchmark database in DATABASE_URL")
    with psycopg.connect(url, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


# --- measurements ------------------------------------------------------------------------------------------------


@dataclass
class Timings:
    samples_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict[str, Any]:
        if not self.samples_ms:
            return {"requests": 0, "errors": self.errors}
        ordered = sorted(self.samples_ms)
        return {
            "requests": len(ordered),
            "errors": self.errors,
            "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(_percentile(ordered, 95), 1),
            "max_ms": round(ordered[-1], 1),
            "mean_ms": round(statistics.fmean(ordered), 1),
        }


def _percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Tee(io.TextIOBase):
    """Writes to the console and keeps a copy (the seed command's stage lines are parsed from it)."""

    def __init__(self, target: TextIO) -> None:
        self.target, self.lines = target, io.StringIO()

    def write(self, text: str) -> int:
        self.target.write(text)
        self.target.flush()
        return self.lines.write(text)


def time_seed(persons: int) -> dict[str, Any]:
    from django.core.management import call_command

    tee = Tee(sys.stdout)
    started = time.perf_counter()
    call_command("seed_demo", persons=persons, stdout=tee)
    seconds = time.perf_counter() - started
    stages = {m["stage"]: float(m["seconds"]) for m in map(_STAGE_LINE.match, tee.lines.getvalue().splitlines()) if m}
    return {
        "persons": persons,
        "seconds": round(seconds, 2),
        "persons_per_second": round(persons / seconds),
        "persons_stage_seconds": stages.get("persons"),
        "stage_seconds": stages,
    }


def time_copy_baseline() -> dict[str, Any]:
    """COPY the seeded person rows out and into an identical table (same indexes): the floor for loading them."""
    from django.db import connection

    from firstline.demo.seed import PERSON_COLUMNS

    columns = ", ".join(PERSON_COLUMNS)
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        export = f"COPY (SELECT {columns} FROM people_person ORDER BY id) TO STDOUT"  # noqa: S608 - constant names
        with cursor.copy(export) as copy:
            for chunk in copy:
                buffer.write(chunk)
        export_seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE IF EXISTS bench_person_copy")
        cursor.execute("CREATE TABLE bench_person_copy (LIKE people_person INCLUDING ALL)")
        cursor.execute("TRUNCATE bench_person_copy")
        data = buffer.getvalue()
        started = time.perf_counter()
        with cursor.copy(f"COPY bench_person_copy ({columns}) FROM STDIN") as copy:
            for offset in range(0, len(data), 1 << 20):
                copy.write(data[offset : offset + (1 << 20)])
        copy_seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_person_copy")
        row = cursor.fetchone()
        copied = int(row[0]) if row else 0
        cursor.execute("DROP TABLE bench_person_copy")
    return {
        "rows": copied,
        "bytes": len(data),
        "export_seconds": round(export_seconds, 2),
        "copy_seconds": round(copy_seconds, 2),
    }


@dataclass
class Query:
    kind: str
    text: str
    grid: str = ""


def build_queries(*, grids: Sequence[str], count: int, rng: random.Random) -> list[Query]:
    """Realistic searches, from the data itself: pinyin initials, name fragments, ID tails and phone tails.

    With ``grids`` the queries cycle through them (each about a person of that grid); without, they are about
    random persons of the whole city and carry no grid filter.
    """
    from django.db.models import Max, Min

    from firstline.people.models import Person

    fields = ("name", "name_initials", "id_number", "phone")
    kinds = ("initials", "fragment", "id_tail", "phone_tail")
    people_of: dict[str, list[tuple[str, str, str, str]]] = {}
    if not grids:
        bounds = Person.objects.aggregate(low=Min("pk"), high=Max("pk"))
        ids = [rng.randint(bounds["low"] or 0, bounds["high"] or 0) for _ in range(count)]
        people_of[""] = list(Person.objects.filter(pk__in=ids).order_by("pk").values_list(*fields))
    queries: list[Query] = []
    for index in range(count):
        grid = grids[index % len(grids)] if grids else ""
        if grid not in people_of:
            people_of[grid] = list(Person.objects.filter(path__startswith=grid).order_by("pk").values_list(*fields))
        if not people_of[grid]:
            continue
        name, initials, id_number, phone = rng.choice(people_of[grid])
        kind = kinds[index % len(kinds)]
        if kind == "initials":
            text = initials[: rng.choice((2, 3, 4))]
        elif kind == "fragment":
            text = name[-2:] if len(name) >= 4 and rng.random() < 0.7 else name[:2]
        elif kind == "id_tail":
            text = id_number[-4:]
        else:
            text = phone[-4:] if phone else id_number[-6:-2]
        queries.append(Query(kind=kind, text=text, grid=grid))
    return queries


def logged_in_client(username: str) -> Any:
    """A test client logged in as ``username``; second factor marked verified for users that have a device."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from firstline.accounts.models import User

    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def time_requests(
    *, username: str, queries: Sequence[Query], requests: int, on_error: Callable[[str], None]
) -> tuple[Timings, dict[str, Timings], int]:
    """GET /people/?grid=…&q=… ``requests`` times (after a warm-up), cycling through ``queries``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in_client(username)
    overall, by_kind = Timings(), dict[str, Timings]()
    for index in range(WARMUP_REQUESTS):
        query = queries[index % len(queries)]
        client.get("/people/", _params(query))
    with CaptureQueriesContext(connection) as captured:
        client.get("/people/", _params(queries[0]))
    sql_per_request = len(captured.captured_queries)
    for index in range(requests):
        query = queries[index % len(queries)]
        started = time.perf_counter()
        response = client.get("/people/", _params(query))
        elapsed_ms = (time.perf_counter() - started) * 1000
        timings = by_kind.setdefault(query.kind, Timings())
        if response.status_code != 200:
            overall.errors += 1
            timings.errors += 1
            on_error(f"  {username}: HTTP {response.status_code} for {_params(query)}")
            continue
        overall.samples_ms.append(elapsed_ms)
        timings.samples_ms.append(elapsed_ms)
    return overall, by_kind, sql_per_request


def _params(query: Query) -> dict[str, str]:
    return {"grid": query.grid, "q": query.text} if query.grid else {"q": query.text}


def _verdict(summary: dict[str, Any]) -> str:
    p95 = summary.get("p95_ms")
    if p95 is None or summary.get("errors"):
        return "FAIL"
    return "PASS" if p95 <= TARGET_P95_MS else "FAIL"


def _line(label: str, summary: dict[str, Any]) -> str:
    if not summary.get("requests"):
        return f"  {label:<28} no successful requests ({summary.get('errors', 0)} errors)"
    return (
        f"  {label:<28} p50 {summary['p50_ms']:7.1f} ms   p95 {summary['p95_ms']:7.1f} ms   "
        f"max {summary['max_ms']:7.1f} ms   n={summary['requests']}"
        + (f"   errors={summary['errors']}" if summary["errors"] else "")
    )


def directory_benchmark(*, requests: int, seed: int) -> dict[str, Any]:
    from django.test.utils import override_settings

    from firstline.accounts.models import Membership
    from firstline.regions.models import Grid

    rng = random.Random(seed)
    results: dict[str, Any] = {"target_p95_ms": TARGET_P95_MS, "users": {}}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"]):
        grid_path = Membership.objects.get(user__username="grid", role="grid_worker").path
        township_path = Membership.objects.get(user__username="township", role="township_officer").path
        township_grids = list(
            Grid.objects.filter(path__startswith=township_path, kind="comprehensive")
            .order_by("code")
            .values_list("code", flat=True)
        )
        plan = {
            "grid": build_queries(grids=[grid_path], count=40, rng=rng),
            "township": build_queries(grids=township_grids, count=80, rng=rng),
            "city": build_queries(grids=[], count=40, rng=rng),
        }
        combined = Timings()
        for username, queries in plan.items():
            label = "city (whole city, no grid filter)" if username == "city" else f"{username} (grid filter)"
            print(f"\n{label}: {WARMUP_REQUESTS} warm-up + {requests} requests, {len(queries)} distinct queries")
            overall, by_kind, sql_count = time_requests(
                username=username, queries=queries, requests=requests, on_error=print
            )
            summary = overall.summary()
            summary["sql_queries_per_request"] = sql_count
            summary["by_kind"] = {kind: t.summary() for kind, t in sorted(by_kind.items())}
            summary["verdict"] = _verdict(summary)
            summary["examples"] = [asdict(q) for q in queries[:8]]
            results["users"][username] = summary
            print(_line(username, summary) + f"   SQL/request={sql_count}   {summary['verdict']}")
            for kind, kind_summary in summary["by_kind"].items():
                print(_line(f"  {kind}", kind_summary))
            if username != "city":
                combined.samples_ms += overall.samples_ms
                combined.errors += overall.errors
        overall_summary = combined.summary()
        overall_summary["verdict"] = _verdict(overall_summary)
        results["grid_filtered_overall"] = overall_summary
    return results


# --- main --------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per user (after 10 warm-up)")
    parser.add_argument("--seed", type=int, default=2021, help="seed for the query mix (the city uses its default)")
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows of each arrival list imported (0: skip)")
    parser.add_argument("--memory-rows", type=int, default=1_000_000, help="rows of the import whose memory is read")
    parser.add_argument("--risk-areas", type=int, default=5000)
    parser.add_argument(
        "--reeval-arrivals", type=int, default=1_000_000, help="arrivals stored (by COPY) before the re-evaluation"
    )
    parser.add_argument("--skip-directory", action="store_true", help="skip the person-directory timings")
    parser.add_argument("--skip-tracing", action="store_true", help="skip the contact-tracing benchmarks")
    parser.add_argument("--venues", type=int, default=20_000, help="venues seeded for the tracing benchmarks")
    parser.add_argument("--checkins", type=int, default=10_000_000, help="check-ins seeded (COPY) over --checkin-days")
    parser.add_argument("--checkin-days", type=int, default=14)
    parser.add_argument("--infectious-days", type=int, default=4, help="a case's window for the co-presence timings")
    parser.add_argument(
        "--tracing-repeats", type=int, default=30, help="timed 1-case runs (100 cases: a third, 2 hops: two thirds)"
    )
    parser.add_argument("--cluster-persons", type=int, default=100_000)
    parser.add_argument("--exposures", type=int, default=300_000)
    parser.add_argument(
        "--intake-seconds", type=int, default=20, help="wrk run against POST /api/v1/checkins/ (0: skip)"
    )
    parser.add_argument("--intake-connections", type=int, default=16)
    parser.add_argument("--intake-threads", type=int, default=2)
    parser.add_argument(
        "--intake-cache-url", default="redis://127.0.0.1:6379/11", help="CACHE_URL of the gunicorn workers"
    )
    parser.add_argument("--skip-quarantine", action="store_true", help="skip the quarantine benchmarks")
    parser.add_argument("--placements", type=int, default=200_000, help="active placements seeded (quarantine)")
    parser.add_argument("--centralised", type=int, default=60_000, help="of them at the sites")
    parser.add_argument("--sites", type=int, default=40, help="centralised quarantine sites")
    parser.add_argument("--quarantine-repeats", type=int, default=30, help="timed follow-up list and board calls")
    parser.add_argument("--result-rows", type=int, default=100_000, help="lab results imported (0: skip)")
    args = parser.parse_args(argv)

    temp_dir: str | None = None
    if args.sqlite:
        temp_dir = tempfile.mkdtemp(prefix="firstline-bench-")
        url = f"sqlite:///{temp_dir}/bench.sqlite3"
    else:
        url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        name = recreate_postgres_database(url)
        print(f"PostgreSQL database {name!r} re-created")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "firstline.settings")

    import django

    django.setup()
    # WhiteNoise warns once that STATIC_ROOT is missing (no collectstatic): irrelevant to these timings.
    warnings.filterwarnings("ignore", message="No directory at")

    from django.core.management import call_command
    from django.db import connection

    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrated in {time.perf_counter() - started:.1f} s ({connection.vendor})")
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
            row = cursor.fetchone()
            server_version = str(row[0]) if row else ""

        print(f"\n== a. seed_demo --persons {args.persons:,}")
        seed_result = time_seed(args.persons)
        print(f"seed_demo: {seed_result['seconds']:.1f} s, {seed_result['persons_per_second']:,} persons/s")

        copy_result: dict[str, Any] | None = None
        if connection.vendor == "postgresql":
            print("\n== b. baseline: COPY of the same person rows into an identical table")
            copy_result = time_copy_baseline()
            copy_result["ratio_seed_to_copy"] = round(seed_result["seconds"] / copy_result["copy_seconds"], 2)
            if seed_result["persons_stage_seconds"]:
                copy_result["ratio_persons_stage_to_copy"] = round(
                    seed_result["persons_stage_seconds"] / copy_result["copy_seconds"], 2
                )
            print(
                f"COPY {copy_result['rows']:,} rows ({copy_result['bytes'] / 1e6:.0f} MB): "
                f"{copy_result['copy_seconds']:.1f} s; seed/COPY = {copy_result['ratio_seed_to_copy']}×"
                f" (persons stage/COPY = {copy_result.get('ratio_persons_stage_to_copy')}×)"
            )
        else:
            print("\n== b. COPY baseline: PostgreSQL only (skipped)")

        directory: dict[str, Any] = {"users": {}, "grid_filtered_overall": {}}
        if not args.skip_directory:
            print(f"\n== c. person directory /people/?grid=…&q=… (server time, target p95 ≤ {TARGET_P95_MS:.0f} ms)")
            directory = directory_benchmark(requests=args.requests, seed=args.seed)

        screening_result: dict[str, Any] | None = None
        if args.import_rows:
            from bench.screening import benchmark as screening_benchmark

            print(
                f"\n== d. arrival imports ({args.import_rows:,} rows, {args.risk_areas:,} risk areas) and re-evaluation"
            )
            screening_result = screening_benchmark(
                rows=args.import_rows,
                memory_rows=args.memory_rows,
                risk_areas=args.risk_areas,
                seed=args.seed,
                reeval_arrivals=args.reeval_arrivals,
            )

        tracing_result: dict[str, Any] | None = None
        if not args.skip_tracing and connection.vendor != "postgresql":
            print("\n== e. contact tracing: PostgreSQL only (skipped)")
        elif not args.skip_tracing:
            from bench.tracing import Options as TracingOptions
            from bench.tracing import benchmark as tracing_benchmark

            print(
                f"\n== e. contact tracing ({args.venues:,} venues, {args.checkins:,} check-ins over "
                f"{args.checkin_days} days, {args.exposures:,} exposures)"
            )
            tracing_result = tracing_benchmark(
                TracingOptions(
                    venues=args.venues,
                    checkins=args.checkins,
                    days=args.checkin_days,
                    infectious_days=args.infectious_days,
                    repeats=args.tracing_repeats,
                    cluster_persons=args.cluster_persons,
                    exposures=args.exposures,
                    intake_seconds=args.intake_seconds,
                    intake_connections=args.intake_connections,
                    intake_threads=args.intake_threads,
                    intake_cache_url=args.intake_cache_url,
                    seed=args.seed,
                )
            )

        quarantine_result: dict[str, Any] | None = None
        if not args.skip_quarantine and connection.vendor != "postgresql":
            print("\n== f. quarantine: PostgreSQL only (skipped)")
        elif not args.skip_quarantine:
            from bench.quarantine import Options as QuarantineOptions
            from bench.quarantine import benchmark as quarantine_benchmark

            print(
                f"\n== f. quarantine ({args.placements:,} active placements, {args.centralised:,} at {args.sites} "
                f"sites; {args.result_rows:,} lab results)"
            )
            quarantine_result = quarantine_benchmark(
                QuarantineOptions(
                    persons=args.persons,
                    placements=args.placements,
                    centralised=args.centralised,
                    sites=args.sites,
                    repeats=args.quarantine_repeats,
                    import_rows=args.result_rows,
                    seed=args.seed,
                )
            )

        result = {
            "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "database": {"vendor": connection.vendor, "version": server_version},
            "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
            "seed": seed_result,
            "copy_baseline": copy_result,
            "directory": directory,
            "screening": screening_result,
            "tracing": tracing_result,
            "quarantine": quarantine_result,
        }
        print_summary(result)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out = RESULTS_DIR / "latest.json"
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"\nwritten: {out}")
    finally:
        connection.close()
        if temp_dir and not args.keep:
            shutil.rmtree(temp_dir, ignore_errors=True)
        elif temp_dir:
            print(f"kept: {temp_dir}")
    return 0


def print_summary(result: dict[str, Any]) -> None:
    seed_result, copy_result, directory = result["seed"], result["copy_baseline"], result["directory"]
    print("\n" + "=" * 100)
    database, machine = result["database"], result["machine"]
    print(f"SUMMARY  {database['vendor']} {database['version'][:40]}  cpus={machine['cpus']}")
    print(
        f"  seed_demo {seed_result['persons']:,} persons: {seed_result['seconds']:.1f} s "
        f"({seed_result['persons_per_second']:,}/s; persons stage {seed_result['persons_stage_seconds']} s)"
    )
    if copy_result:
        print(
            f"  COPY baseline: {copy_result['copy_seconds']:.1f} s   seed/COPY {copy_result['ratio_seed_to_copy']}×   "
            f"persons stage/COPY {copy_result.get('ratio_persons_stage_to_copy')}×"
        )
    for username, summary in directory["users"].items():
        print(_line(username, summary) + f"   {summary['verdict']}")
    overall = directory["grid_filtered_overall"]
    if overall:
        print(_line("grid + township (overall)", overall) + f"   {overall['verdict']}")
        print(f"  target: p95 ≤ {TARGET_P95_MS:.0f} ms")
    screening = result.get("screening")
    if screening:
        csv_run, xlsx_run = screening["csv"], screening["xlsx"]
        copy = screening.get("copy")
        ratio = f"   import/COPY speed {csv_run.get('speed_vs_copy')} (target ≥ 0.4)" if copy else ""
        print(f"  import CSV {csv_run['rows']:,} rows: {csv_run['rows_per_second']:,}/s{ratio}")
        if copy:
            print(f"  COPY of the same rows: {copy['rows_per_second']:,}/s")
        print(f"  import xlsx {xlsx_run['rows']:,} rows: {xlsx_run['rows_per_second']:,}/s (target ≥ 30,000/s)")
        if screening.get("memory"):
            memory = screening["memory"]
            print(f"  import of {memory['rows']:,} rows: peak RSS {memory['peak_rss_mb']} MB (target < 1024 MB)")
        re = screening["reevaluation"]
        print(f"  re-evaluation over {re['arrivals_stored']:,} arrivals: {re['seconds']} s (target ≤ 10 s)")
    tracing = result.get("tracing")
    if tracing:
        from bench.tracing import summary_lines

        for line in summary_lines(tracing):
            print(line)
    quarantine = result.get("quarantine")
    if quarantine:
        from bench.quarantine import summary_lines as quarantine_lines

        for line in quarantine_lines(quarantine):
            print(line)
    print("=" * 100)


if __name__ == "__main__":
    raise SystemExit(main())
