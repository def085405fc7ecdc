from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from firstline.accounts.models import Department, User
from firstline.accounts.roles import Role
from firstline.accounts.services import membership_grant
from firstline.regions.models import Division, Grid


class Command(BaseCommand):
    help = "Give a user a role in a division, grid or department (for the first administrator, or scripts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=Role.values)
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--division", help="division code, e.g. 632701")
        where.add_argument("--grid", help="grid code, e.g. 632701001001-G001")
        where.add_argument("--department", help="department code, e.g. police")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
            anchor: dict[str, Any] = {}
            if options["division"]:
                anchor["division"] = Division.objects.get(code=options["division"])
            elif options["grid"]:
                anchor["grid"] = Grid.objects.get(code=options["grid"])
            else:
                anchor["department"] = Department.objects.get(code=options["department"])
        except (User.DoesNotExist, Division.DoesNotExist, Grid.DoesNotExist, Department.DoesNotExist) as exc:
            raise CommandError(str(exc)) from exc
        try:
            membership = membership_grant(actor=None, user=user, role=options["role"], **anchor)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"granted: {membership.user.username} · {membership.role} · {membership.anchor_label()}")
