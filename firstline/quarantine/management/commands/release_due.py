"""``manage.py release_due [--dry-run] [--date YYYY-MM-DD] [--site CODE]``: the day's releases.

Lists every active placement due for release on the day (or overdue), with what holds it back; without
``--dry-run`` releases those that nothing holds (as the system, audited), each in its own transaction so one
refusal never undoes the others. A released person's follow-on measure starts as the service says.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from firstline.core.dates import local_today
from firstline.quarantine.models import Facility, Placement, PlacementStatus
from firstline.quarantine.sites import services

BATCH = 500


class Command(BaseCommand):
    help = "List the day's due releases with what holds them; release those nothing holds (unless --dry-run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only list; release nobody.")
        parser.add_argument("--date", help="The day (YYYY-MM-DD); default today.")
        parser.add_argument("--site", help="Only this site's code (e.g. QA01).")

    def handle(self, *args: Any, **options: Any) -> None:
        day = self._day(options.get("date"))
        placements = Placement.objects.filter(status=PlacementStatus.ACTIVE, due_date__lte=day)
        site = options.get("site")
        if site:
            facility = Facility.objects.filter(code=site.strip().upper()).first()
            if facility is None:
                raise CommandError(f"No site with the code {site!r}.")
            placements = placements.filter(facility=facility)
        placements = placements.select_related("person", "facility", "room", "measure", "measure__edition").order_by(
            "due_date", "facility__code", "room__number", "id"
        )
        dry_run = bool(options.get("dry_run"))
        released = held = failed = 0
        ids = list(placements.values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH):
            chunk = list(placements.filter(pk__in=ids[start : start + BATCH]))
            blockers = services.release_blockers_many(chunk, today=day)
            for placement in chunk:
                line = self._line(placement)
                reasons = blockers[placement.pk]
                if reasons:
                    held += 1
                    self.stdout.write(f"HELD      {line}: " + "; ".join(reasons))
                    continue
                if dry_run:
                    released += 1
                    self.stdout.write(f"READY     {line}")
                    continue
                try:
                    result = services.placement_release_with_follow_on(actor=None, placement=placement, today=day)
                except ValidationError as error:
                    failed += 1
                    self.stdout.write(f"REFUSED   {line}: " + "; ".join(error.messages))
                    continue
                released += 1
                follow = f" -> follow-on at home until {result.follow_on.due_date}" if result.follow_on else ""
                self.stdout.write(f"RELEASED  {line} {result.placement.certificate_number}{follow}")
        verb = "ready" if dry_run else "released"
        self.stdout.write(
            self.style.SUCCESS(f"{day.isoformat()}: {len(ids)} due, {released} {verb}, {held} held, {failed} refused.")
        )

    @staticmethod
    def _day(value: str | None) -> datetime.date:
        if not value:
            return local_today()
        try:
            return datetime.date.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--date {value!r}: give YYYY-MM-DD.") from exc

    @staticmethod
    def _line(placement: Placement) -> str:
        where = (
            f"{placement.facility.code} {placement.room.number}" if placement.facility and placement.room else "home"
        )
        return f"#{placement.pk} {placement.person.name} ({where}, due {placement.due_date.isoformat()})"
