from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD
from firstline.accounts import services
from firstline.core.models import AuditEvent
from firstline.people.services import person_update

pytestmark = pytest.mark.django_db


def test_login_page_and_login(client, city):
    assert client.get(reverse("accounts:login")).status_code == 200
    response = client.post(reverse("accounts:login"), {"username": "grid_a", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_lockout_after_repeated_failures(client, city, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": "grid_a", "password": "wrong-password"})
    response = client.post(reverse("accounts:login"), {"username": "grid_a", "password": PASSWORD})
    assert response.status_code == 429
    assert "locked" in response.content.decode().lower() or "锁" in response.content.decode()


def test_city_command_must_enrol_totp_before_anything(client, city, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no wait between the wrong and the right code in this test
    client.post(reverse("accounts:login"), {"username": "city", "password": PASSWORD})
    response = client.get(reverse("people:list"))
    assert response.status_code == 302 and reverse("accounts:otp") in response["Location"]
    assert client.get("/api/v1/persons/").status_code == 403
    # Enrol: the page shows a QR code and the secret of a pending device.
    page = client.get(reverse("accounts:otp"))
    assert page.context["enrolling"] is True
    device = TOTPDevice.objects.get(user=city["city"], confirmed=False)
    bad = client.post(reverse("accounts:otp"), {"token": "000000", "next": "/people/"})
    assert bad.status_code == 200 and bad.context["form"].errors
    good = client.post(reverse("accounts:otp"), {"token": f"{totp(device.bin_key):06d}", "next": "/people/"})
    assert good.status_code == 302 and good["Location"] == "/people/"
    assert client.get(reverse("people:list")).status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_grid_worker_needs_no_totp(client, city):
    client.post(reverse("accounts:login"), {"username": "grid_a", "password": PASSWORD})
    assert client.get(reverse("people:list")).status_code == 200


def test_otp_next_cannot_redirect_off_site(client, city):
    client.post(reverse("accounts:login"), {"username": "auditor", "password": PASSWORD})
    client.get(reverse("accounts:otp"))
    device = TOTPDevice.objects.get(user=city["auditor"])
    response = client.post(
        reverse("accounts:otp"), {"token": f"{totp(device.bin_key):06d}", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_masking_for_roles_without_full_pii(client, login, city):
    login("township")
    page = client.get(reverse("people:detail", args=[city.person_a.pk])).content.decode()
    assert city.person_a.id_number not in page and "138****1111" in page
    assert city.person_a.id_number[:6] + "********" + city.person_a.id_number[-4:] in page


def test_full_pii_for_grid_workers(client, login, city):
    login("grid_a")
    page = client.get(reverse("people:detail", args=[city.person_a.pk])).content.decode()
    assert city.person_a.id_number in page and "13800001111" in page


def test_show_full_is_logged(client, login, city):
    login("township")
    response = client.post(reverse("people:reveal", args=[city.person_a.pk]))
    assert city.person_a.id_number in response.content.decode()
    assert AuditEvent.objects.filter(action="reveal", actor=city["township"]).count() == 1


def test_api_masks_for_roles_without_full_pii(api, city):
    row = api("township").get(f"/api/v1/persons/{city.person_a.pk}/").json()
    assert row["phone"] == "138****1111" and "*" in row["id_number"]
    assert api("grid_a").get(f"/api/v1/persons/{city.person_a.pk}/").json()["phone"] == "13800001111"


def test_history_tab_masks_for_masked_roles(client, login, city):
    person_update(actor=city["grid_a"], person=city.person_a, expected_version=1, data={"phone": "13812345678"})
    login("township")
    page = client.get(reverse("people:detail", args=[city.person_a.pk]) + "?tab=history").content.decode()
    assert "138****5678" in page and "13812345678" not in page


def test_auditor_searches_the_log_within_scope(client, login, city):
    person_update(actor=city["grid_a"], person=city.person_a, expected_version=1, data={"phone": "13812345678"})
    person_update(actor=city["other_township"], person=city.person_c, expected_version=1, data={"ethnicity": "藏族"})
    login("auditor")
    response = client.get(reverse("accounts:audit"), {"actor": "grid_a", "action": "update"})
    rows = response.context["rows"]
    assert [event.object_id for event, _changes in rows] == [str(city.person_a.pk)]
    assert client.get(reverse("accounts:audit"), {"since": "2026-13-45"}).status_code == 200


def test_audit_log_forbidden_without_permission(client, login, city):
    login("grid_a")
    assert client.get(reverse("accounts:audit")).status_code == 403


def test_audit_records_ip(client, login, city):
    login("grid_a")
    client.post(
        reverse("people:edit", args=[city.person_a.pk]),
        {
            "name": "扎西多杰",
            "id_type": "resident",
            "id_number": city.person_a.id_number,
            "phone": "13811110000",
            "household": city.household_a.code,
            "version": 1,
        },
        REMOTE_ADDR="10.1.2.3",
    )
    event = AuditEvent.objects.get(action="update", object_id=str(city.person_a.pk))
    assert event.ip == "10.1.2.3" and event.changes["phone"] == ["13800001111", "13811110000"]


def test_data_admin_grants_roles_only_inside_own_scope(city):
    from django.core.exceptions import PermissionDenied

    new = services.user_create(actor=city["admin"], username="new_worker", password=PASSWORD)
    services.membership_grant(actor=city["admin"], user=new, role="grid_worker", grid=city.grid_a)
    with pytest.raises(PermissionDenied):
        services.membership_grant(actor=city["admin"], user=new, role="grid_worker", grid=city.grid_c)
    with pytest.raises(PermissionDenied):
        services.user_create(actor=city["grid_a"], username="x", password=PASSWORD)


def test_data_admin_user_pages(client, login, city):
    login("admin")
    assert client.get(reverse("accounts:users")).status_code == 200
    assert client.get(reverse("accounts:user", args=[city["grid_a"].pk])).status_code == 200
    # A user whose only role is in another township is not this admin's to manage.
    assert client.get(reverse("accounts:user", args=[city["other_township"].pk])).status_code == 404
    response = client.post(reverse("accounts:users"), {"username": "weak", "password": "123"})
    assert response.status_code == 200 and response.context["form"].errors


def test_security_headers(client, login, city):
    login("grid_a")
    response = client.get(reverse("home"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_csrf_is_enforced(city):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(city["grid_a"])
    assert strict.post(reverse("people:reveal", args=[city.person_a.pk])).status_code == 403


SETTINGS_PROBE = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'firstline.settings'; django.setup(); "
    "from django.conf import settings; print(settings.SESSION_COOKIE_SECURE)"
)


SETTINGS_PROBE = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'firstline.settings'; django.setup(); "
    "from django.conf import settings; print(settings.SESSION_COOKIE_SECURE)"
)


def _settings_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "TIME_ZONE"}}
    return subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "0", "SECRET_KEY": "short"}, "at least 32 characters"),
        ({"TIME_ZONE": "Mars/Olympus"}, "not a known time zone"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "sqlite:// and postgres:// only"),
        ({"AXES_FAILURE_LIMIT": "many"}, "AXES_FAILURE_LIMIT='many' is not a whole number"),
    ],
)
def test_bad_settings_stop_start_up_with_a_clear_message(env, message):
    result = _settings_check(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_secure_cookies_when_debug_is_off():
    result = _settings_check({"DEBUG": "0", "SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_grant_role_command(city):
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("grant_role", "outsider", "data_admin", "--division", "632701", stdout=out)
    assert "granted: outsider · data_admin" in out.getvalue()
    city["outsider"].forget_scope()
    assert city["outsider"].scope.has("user.manage")
    with pytest.raises(CommandError):
        call_command("grant_role", "outsider", "grid_worker", "--division", "632701")
    with pytest.raises(CommandError):
        call_command("grant_role", "nobody", "auditor", "--division", "632701")


def test_user_search_is_case_insensitive(client, login, city):
    login("admin")
    response = client.get(reverse("accounts:users"), {"q": "GRID_A"})
    assert [u.username for u in response.context["page_obj"]] == ["grid_a"]


def test_audit_actor_search_is_case_insensitive(client, login, city):
    person_update(actor=city["grid_a"], person=city.person_a, expected_version=1, data={"phone": "13812345678"})
    login("auditor")
    response = client.get(reverse("accounts:audit"), {"actor": "Grid_A"})
    assert len(response.context["rows"]) == 1


def test_api_token_refused_for_roles_that_require_totp(api, city):
    response = api("city").get("/api/v1/persons/")
    assert response.status_code in (401, 403)  # 403: session authentication is listed first, so no challenge
    assert "second factor" in response.json()["detail"]
    assert api("cdc").get("/api/v1/persons/").status_code == 200


def test_audit_list_query_count_is_constant(client, login, city, django_assert_max_num_queries):
    for n in range(40):
        person_update(
            actor=city["grid_a"], person=city.person_a, expected_version=n + 1, data={"phone": f"138000{n:05d}"}
        )
    login("auditor")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("accounts:audit"))
    assert len(response.context["rows"]) >= 40


def test_user_list_query_count_is_constant(client, login, city, django_assert_max_num_queries):
    for n in range(20):
        new = services.user_create(actor=None, username=f"worker{n}", password=PASSWORD)
        services.membership_grant(actor=None, user=new, role="grid_worker", grid=city.grid_a)
    login("admin")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("accounts:users"))
    assert response.status_code == 200
