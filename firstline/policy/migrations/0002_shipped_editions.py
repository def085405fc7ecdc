"""The two editions DOMAIN.md tabulates, shipped as data; editors copy one and change it in the UI."""

import datetime

from django.db import migrations

C, H, M, T, S = (
    "centralised_quarantine",
    "home_quarantine",
    "home_health_monitoring",
    "tests_only",
    "self_monitoring",
)

EDITIONS = [
    {
        "name": "2021年实践（第八版防控方案）",
        "effective_from": datetime.date(2021, 5, 11),
        "description": "National prevention and control plan, 8th edition (May 2021), with 2021 local practice "
        "for arrivals from medium-risk areas and spatio-temporal companions.",
        "rules": [
            dict(trigger="close_contact", measure=C, duration_days=14, anchor="last_exposure", test_days=[1, 4, 7, 14],
                 follow_on_measure=M, follow_on_days=7, follow_on_test_days=[2, 7], priority=10,
                 note="Two samples by two labs at release (day 14)."),
            dict(trigger="secondary_contact", measure=C, duration_days=7, anchor="last_exposure", priority=5),
            dict(trigger="risk_high", lookback_days=14, measure=C, duration_days=14, anchor="left_area",
                 test_days=[1, 4, 7, 10, 14], priority=8, note="2021 local practice."),
            dict(trigger="risk_medium", lookback_days=14, measure=C, duration_days=14, anchor="left_area",
                 test_days=[1, 4, 7, 10, 14], priority=7, note="As high risk (2021 local practice)."),
            dict(trigger="risk_low", lookback_days=14, measure=T, duration_days=3, anchor="arrival", test_days=[1, 2],
                 priority=1, note="2 tests in 3 days, at least 24 h apart."),
            dict(trigger="companion", measure=T, duration_days=3, anchor="notified", test_days=[1, 2],
                 stay_home_until_negative=True, priority=1,
                 note="Local practice: 2 tests in 3 days, stay home until negative."),
        ],
    },
    {
        "name": "第九版防控方案",
        "effective_from": datetime.date(2022, 6, 28),
        "description": "National prevention and control plan, 第九版防控方案 (June 2022).",
        "rules": [
            dict(trigger="close_contact", measure=C, duration_days=7, anchor="last_exposure",
                 test_days=[1, 2, 3, 5, 7], follow_on_measure=M, follow_on_days=3, follow_on_test_days=[3],
                 priority=10),
            dict(trigger="secondary_contact", measure=H, duration_days=7, anchor="last_exposure", test_days=[1, 4, 7],
                 priority=5),
            dict(trigger="risk_high", lookback_days=7, measure=C, duration_days=7, anchor="left_area",
                 test_days=[1, 2, 3, 5, 7], priority=8),
            dict(trigger="risk_medium", lookback_days=7, measure=H, duration_days=7, anchor="left_area",
                 test_days=[1, 4, 7], priority=7),
            dict(trigger="risk_low", lookback_days=7, measure=T, duration_days=3, anchor="arrival", test_days=[1, 2],
                 follow_on_measure=S, follow_on_days=4, priority=1,
                 note="3天2检 + self-monitoring; the edition gives no self-monitoring length: 4 days, to day 7 of "
                 "the 7-day look-back (change it here if your notice says otherwise)."),
        ],
    },
]


def ship(apps, schema_editor):
    PolicyEdition = apps.get_model("policy", "PolicyEdition")
    MeasureRule = apps.get_model("policy", "MeasureRule")
    for spec in EDITIONS:
        edition = PolicyEdition.objects.create(
            name=spec["name"],
            effective_from=spec["effective_from"],
            description=spec["description"],
            status="published",
            infectious_days_before=2,
            min_tests_when_short=2,
            min_test_gap_hours=24,
        )
        for rule in spec["rules"]:
            MeasureRule.objects.create(edition=edition, **rule)


def unship(apps, schema_editor):
    PolicyEdition = apps.get_model("policy", "PolicyEdition")
    PolicyEdition.objects.filter(name__in=[spec["name"] for spec in EDITIONS], based_on__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]
    operations = [migrations.RunPython(ship, unship)]
