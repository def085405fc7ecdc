import base64
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from firstline.accounts.models import Membership
from firstline.demo import seed

URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = "List the demo accounts (from their memberships) with each TOTP secret and its current code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="", help="the demo password, printed as a reminder")
        parser.add_argument("--all", action="store_true", help="also list the generated per-grid accounts")

    def handle(self, *args: Any, **options: Any) -> None:
        memberships = (
            Membership.objects.filter(active=True, user__is_active=True)
            .select_related("user", "division", "grid__division", "department")
            .order_by("user__date_joined", "user_id", "role")
        )
        generated = 0
        rows: list[tuple[str, str, str, str]] = []
        for membership in memberships:
            user = membership.user
            if user.username.startswith(seed.GENERATED_PREFIXES) and not options["all"]:
                generated += 1
                continue
            rows.append((user.username, user.display_name, membership.get_role_display(), _jurisdiction(membership)))
        devices = {
            device.user.username: device
            for device in TOTPDevice.objects.filter(confirmed=True).select_related("user").order_by("id")
        }
        self.stdout.write(f"Firstline demo: {URL}")
        if options["password"]:
            self.stdout.write(f"Password of every demo account: {options['password']}")
        if not rows:
            self.stdout.write("No accounts yet: run `manage.py seed_demo` first.")
            return
        widths = [max(_width(row[i]) for row in rows) for i in range(3)]
        for username, display_name, role, jurisdiction in rows:
            cells = (_pad(username, widths[0]), _pad(display_name, widths[1]), _pad(role, widths[2]))
            line = "  ".join(cells) + f"  {jurisdiction}"
            device = devices.get(username)
            if device is not None:
                secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
                code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
                line += f"  TOTP secret {secret}  code now {code:0{device.digits}d}"
            self.stdout.write(line)
        if generated:
            self.stdout.write(
                f"… and {generated:,} memberships of generated accounts ({', '.join(seed.GENERATED_PREFIXES)}"
                " + grid or division code), same password; --all lists them."
            )


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _jurisdiction(membership: Membership) -> str:
    if membership.grid is not None:
        return f"{membership.grid.division.name if membership.grid.division_id else ''} {membership.grid}".strip()
    if membership.division is not None:
        return str(membership.division)
    if membership.department is not None:
        return f"{membership.department.name}（{membership.department.code}）"
    return ""
