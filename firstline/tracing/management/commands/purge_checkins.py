from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from firstline.tracing.venues.tasks import purge_checkins


class Command(BaseCommand):
    help = (
        "Delete venue check-ins older than CHECKIN_RETENTION_DAYS (on PostgreSQL: drop whole daily partitions) and "
        "create the coming days' partitions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be deleted.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = purge_checkins(dry_run=options["dry_run"])
        verb = "would delete" if result["dry_run"] else "deleted"
        self.stdout.write(f"cut-off: {result['cutoff']}")
        self.stdout.write(
            f"partitions {'to drop' if result['dry_run'] else 'dropped'}: {len(result['partitions_dropped'])}"
        )
        for name in result["partitions_dropped"]:
            self.stdout.write(f"  {name}")
        self.stdout.write(
            f"rows {verb}: {result['rows_deleted']}" + ("" if result["dry_run"] else " (besides dropped partitions)")
        )
        if result["partitions_created"]:
            self.stdout.write(f"partitions created: {', '.join(result['partitions_created'])}")
