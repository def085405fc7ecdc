from typing import Any

from django.core.management.base import BaseCommand

from firstline.dispatch import services


class Command(BaseCommand):
    help = "Escalate every overdue open task to the supervising role one jurisdiction up."

    def handle(self, *args: Any, **options: Any) -> None:
        report = services.escalate_overdue()
        self.stdout.write(f"escalated: {len(report.escalated)}; without a supervisor: {len(report.no_supervisor)}")
        for task_id in report.no_supervisor:
            self.stdout.write(f"  task #{task_id}: no active supervisor found above its jurisdiction")
