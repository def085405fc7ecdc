"""Browser end-to-end of community: `site` files a care request for a colleague's elderly parent; `township` assigns
it, records what was done and closes it on the requester's word; a member of the public reports a rumour on the
community's public page; `township` marks it false and answers with a notice that then shows on the public page.
Real Chromium via Playwright (fixtures shared with test_e2e)."""

from __future__ import annotations

from typing import Any

import pytest

from firstline.community.tests.conftest import community, ship_commitments  # noqa: F401  (fixture)
from firstline.tests.test_e2e import _log_in, browser, page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_care_for_a_colleague_and_a_rumour_answered_on_the_public_page(
    browser: Any,  # noqa: F811  (the shared fixtures)
    page: Any,  # noqa: F811
    live_server: Any,
    city: Any,
    community: Any,  # noqa: F811
) -> None:
    from conftest import PASSWORD
    from firstline.accounts.services import membership_grant, user_create
    from firstline.community.models import CareRequest, PublicReport
    from firstline.regions.models import Division

    ship_commitments()
    site = user_create(actor=None, username="site", password=PASSWORD, display_name="site")
    membership_grant(actor=None, user=site, role="site_staff", division=Division.objects.get(code="632701001"))
    base = live_server.url

    # The site manager files for a colleague (the nurse `medic`): her elderly mother is alone at home.
    _log_in(page, base, "site")
    page.goto(f"{base}/community/care/new/")
    page.fill("input[name=worker_key]", "medic")
    page.locator("[data-testid=lookup-match]").wait_for()
    page.select_option("select[name=category]", "family_care")
    page.click("input[name=urgency][value='4'] + label")
    page.fill("textarea[name=description]", "同事卓玛措在隔离点值守，家中年迈母亲独居，需要有人每天上门照看。")
    page.click("[data-testid=care-submit]")
    page.wait_for_url(f"{base}/community/care/*/")
    care = CareRequest.objects.get()
    assert care.on_behalf and care.worker == community.worker_site and care.division_id == "632701001"
    page.context.clear_cookies()

    # The township takes it, records what was done and closes it on the requester's word.
    _log_in(page, base, "township")
    page.goto(f"{base}/community/care/queue/")
    page.click(f"a[href='/community/care/{care.pk}/']")
    page.eval_on_selector(
        "[data-testid=assign-form] select[name=handler]", "(el, pk) => { el.value = pk; }", str(city["township"].pk)
    )
    page.click("[data-testid=assign-form] button[type=submit]")
    page.locator("[data-testid=handle-form]").wait_for()
    page.fill("[data-testid=handle-form] textarea", "已安排社区志愿者每天上门两次照看老人并送餐。")
    page.click("[data-testid=handle-form] button[type=submit]")
    page.locator("[data-testid=close-form]").wait_for()
    page.fill("[data-testid=close-form] input[name=note]", "电话确认：卓玛措表示已落实")
    page.click("[data-testid=close-form] button[type=submit]")
    page.wait_for_load_state()
    care.refresh_from_db()
    assert care.status == "closed" and care.handler == city["township"]
    page.context.clear_cookies()

    # A member of the public reports a rumour on the community's public page (no login).
    page.goto(f"{base}/n/632701001/")
    page.click("[data-testid=report-link]")
    page.check("input[name=kind][value=rumour]")
    page.fill("textarea[name=description]", "微信群里说明天全城封闭，所有超市关门，大家赶紧囤货。")
    page.fill("input[name=place]", "结古街道")
    page.click("[data-testid=submit]")
    page.wait_for_load_state()
    report = PublicReport.objects.get()
    assert report.kind == "rumour" and report.division_id == "632701001"

    # The township marks it false and answers with a notice.
    _log_in(page, base, "township")
    page.goto(f"{base}/community/notices/reports/{report.pk}/")
    page.check("[data-testid=triage-form] input[name=outcome][value=false]")
    page.click("[data-testid=triage]")
    page.locator("[data-testid=answer]").wait_for()
    page.click("[data-testid=answer]")
    page.fill("[data-testid=answer-new] input[name=title]", "辟谣：结古街道明日不会全城封闭")
    page.fill("[data-testid=answer-new] textarea[name=body]", "网传“明天全城封闭”不实，超市正常营业，请勿囤货。")
    publish = page.locator("[data-testid=answer-new] input[name=publish]")
    if not publish.is_checked():
        publish.check()
    page.click("[data-testid=answer-create]")
    page.locator("[data-testid=answer-notice]").wait_for()
    report.refresh_from_db()
    notice = report.answer
    assert report.status == "false" and notice is not None and notice.status == "published"
    page.context.clear_cookies()

    # The refutation shows on the public page.
    page.goto(f"{base}/n/632701001/")
    entry = page.locator(f"[data-testid=public-notices] [data-notice='{notice.pk}']")
    entry.wait_for()
    assert "辟谣" in entry.inner_text()
    assert page.locator("[data-testid=refutes]").count() == 1
