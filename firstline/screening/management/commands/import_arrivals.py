"""python manage.py import_arrivals FILE [--dry-run] [--valid-only] [--report OUT.json] --as USERNAME"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from firstline.accounts.models import User
from firstline.core.spreadsheets import SpreadsheetError
from firstline.screening.imports.services import import_file


class Command(BaseCommand):
    help = "Import an arrival list (xlsx/xls/ods/csv) as a user; prints a JSON summary of the rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument(
            "--valid-only", action="store_true", help="import the valid rows (default: all rows or nothing)"
        )
        parser.add_argument("--report", type=Path, help="also write the JSON summary to this file")
        parser.add_argument("--as", dest="username", required=True, help="the user whose jurisdiction applies")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            actor = User.objects.get(username=options["username"], is_active=True)
        except User.DoesNotExist as exc:
            raise CommandError(f"no active user {options['username']!r}") from exc
        try:
            job, summary = import_file(
                actor=actor, path=path, dry_run=options["dry_run"], valid_only=options["valid_only"]
            )
        except PermissionDenied as exc:
            raise CommandError(f"{actor.username} may not import lists: {exc}") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.message_dict.items())) from exc
        except SpreadsheetError as exc:
            raise CommandError(str(exc)) from exc
        data = summary.as_dict()
        report = {key: data[key] for key in ("rows", "created", "updated", "unchanged", "rejected", "errors")}
        report |= {"persons_created": data["persons_created"], "unresolved": data["unresolved"], "job": job.pk}
        report |= {"written": data["written"], "measures": data["measures"], "tasks": data["tasks"]}
        text = json.dumps(report, ensure_ascii=False, indent=2)
        if options["report"]:
            options["report"].write_text(text + "\n", encoding="utf-8")
        self.stdout.write(text)
        if summary.rejected and not options["dry_run"] and not summary.written:
            raise CommandError(f"nothing imported: {summary.rejected} rows rejected (use --valid-only to skip them)")
