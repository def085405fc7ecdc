from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from firstline.regions.services import divisions_load


class Command(BaseCommand):
    help = "Load divisions from a CSV file with columns code,name,level,parent_code (all rows or none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        report = divisions_load(actor=None, source=path, dry_run=options["dry_run"])
        if report.errors:
            for error in report.errors:
                self.stderr.write(f"{path}: {error}")
            raise CommandError(f"{len(report.errors)} error(s); nothing was written.")
        verb = "would load" if options["dry_run"] else "loaded"
        self.stdout.write(f"{verb}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged")
