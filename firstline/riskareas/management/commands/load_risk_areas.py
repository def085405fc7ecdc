from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from firstline.accounts.models import User
from firstline.riskareas.loading import FileProblem, read_rows
from firstline.riskareas.services import risk_areas_load


class Command(BaseCommand):
    help = (
        "Load risk areas from a CSV or xlsx file with columns place, division_code (optional), level, "
        "effective_from, lifted_at (optional); Chinese headers (地区, 区划代码, 风险等级, 起始日期, 解除日期) "
        "work too. "
        "All rows or none; loading the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")
        parser.add_argument("--as", dest="username", default="", help="Act as this user (default: the system).")
        parser.add_argument("--notice", default="", help="Source notice for rows that name none.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        actor = None
        if options["username"]:
            actor = User.objects.filter(username=options["username"], is_active=True).first()
            if actor is None:
                raise CommandError(f"no active user {options['username']!r}")
        try:
            rows = read_rows(path)
        except FileProblem as exc:
            raise CommandError(f"{path}: {exc}") from exc
        try:
            report = risk_areas_load(
                actor=actor, rows=rows, dry_run=options["dry_run"], source_notice=options["notice"]
            )
        except PermissionDenied as exc:
            raise CommandError(f"{options['username']} may not edit risk areas") from exc
        for error in report.errors:
            self.stderr.write(f"{path}: row {error['row']}, {error['field']}: {error['reason']}")
        summary = f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged"
        if report.errors:
            raise CommandError(f"{len(report.errors)} error(s); nothing was written ({summary} if corrected).")
        verb = "would load" if options["dry_run"] else "loaded"
        self.stdout.write(f"{verb} {len(rows)} rows: {summary}")
