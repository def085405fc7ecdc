from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from firstline.tracing.clusters import services


class Command(BaseCommand):
    help = "Recompute the transmission clusters from the counted exposures (what the background job does)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = services.clusters_recompute()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        figures = report.as_dict()
        self.stdout.write(" ".join(f"{name}: {value}" for name, value in figures.items()))
