from typing import Any

from django.core.management.base import BaseCommand

from firstline.screening.assist import services


class Command(BaseCommand):
    help = "Give every person of an open 协查 batch who is overdue to locate or control an urgent task (once per step)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = services.escalate_assist()
        self.stdout.write(f"escalated: {count}")
