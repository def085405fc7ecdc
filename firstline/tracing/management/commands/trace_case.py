"""``python manage.py trace_case CASE_ID [--hops 2] [--json] [--as USER]``: the contacts of a case.

Prints the same structure as ``GET /api/v1/cases/{id}/contacts/?hops=N`` (``selectors.case_contacts``). Without
``--as`` it reads as the command centre would (the whole installation, IDs in full): it is an operator's tool.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from firstline.accounts.models import User
from firstline.core.pii import PII_FULL_PERMISSION
from firstline.core.scoping import Scope
from firstline.tracing import selectors
from firstline.tracing.models import Case


class Operator:
    """The operator at the console: sees the whole installation, IDs in full."""

    is_authenticated = True
    is_active = True
    pk = None
    scope = Scope(user_id=None, paths=("",), permissions=frozenset({PII_FULL_PERMISSION}))


class Command(BaseCommand):
    help = "Print the close (and secondary) contacts of a case with their measures and evidence."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case_id", type=int)
        parser.add_argument("--hops", type=int, choices=[1, 2], default=1)
        parser.add_argument("--json", action="store_true", help="Print JSON (the API's structure).")
        parser.add_argument("--as", dest="username", default="", help="Read as this user (scope and masking).")

    def handle(self, *args: Any, **options: Any) -> None:
        reader: Any = Operator()
        if options["username"]:
            reader = User.objects.filter(username=options["username"]).first()
            if reader is None:
                raise CommandError(f"No user {options['username']!r}.")
        try:
            case = selectors.cases_visible_to(reader).get(pk=options["case_id"])
        except Case.DoesNotExist as exc:
            raise CommandError(f"No case {options['case_id']} (or not visible to that user).") from exc
        data = selectors.case_contacts(reader, case, hops=options["hops"])
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
            return
        person = data["case"]["person"]
        self.stdout.write(
            f"Case {case.pk} {person['name']} ({case.classification}), infectious "
            f"{data['case']['infectious_from']} – {data['case']['infectious_until']}"
        )
        for label in ("close", "secondary"):
            items = data[label]
            self.stdout.write(f"{label}: {len(items)}")
            for item in items:
                measure = item["measure"]
                self.stdout.write(
                    f"  {item['person']['name']} {item['person']['id_number']}  {measure['type']} "
                    f"{measure['start']}–{measure['end']}  ({len(item['evidence'])} exposures)"
                )
        if data["outside_scope"]:
            self.stdout.write(f"outside scope: {data['outside_scope']}")
