"""``python manage.py copresence_run [--day YYYY-MM-DD]``: venue co-presence for all of a day's new cases at once."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from firstline.tracing.services import copresence_run


class Command(BaseCommand):
    help = "Find venue co-presence exposures for every case reported (or recorded) on a day, then derive contacts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", default="", help="The day (default: today, local time).")

    def handle(self, *args: Any, **options: Any) -> None:
        day = None
        if options["day"]:
            try:
                day = datetime.date.fromisoformat(options["day"])
            except ValueError as exc:
                raise CommandError("--day must look like 2021-10-01.") from exc
        run = copresence_run(actor=None, day=day)
        derivation = run.derivation
        self.stdout.write(
            f"{run.cases} cases, {run.exposures} new exposures; contacts: {len(derivation.created)} new, "
            f"{len(derivation.changed)} changed, {len(derivation.released)} released"
        )
