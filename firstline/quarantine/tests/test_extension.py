"""A new exposure extends the stay per the policy: tracing replaces the contact's measure, the placement follows it
(its due date, its samplings and the explanation it shows), in the same transaction as the exposure."""

from __future__ import annotations

import datetime

from firstline.quarantine.models import Placement, Sampling
from firstline.quarantine.sites.services import placement_create
from firstline.tracing import services as tracing
from firstline.tracing.models import Contact
from firstline.tracing.tests.factories import at, confirmed_case, days_ago


def test_a_later_exposure_to_another_case_extends_the_placement_with_the_new_explanation(city, sites):
    first_case = confirmed_case(city["cdc"], city.person_b, onset=days_ago(3))
    tracing.exposure_create(
        actor=city["cdc"], source=city.person_b, exposed=city.person_a,
        values={"setting": "shared_meal", "start": at(days_ago(3), 12), "end": at(days_ago(3), 14)},
    )  # fmt: skip
    contact = Contact.objects.get(person=city.person_a)
    assert contact.measure is not None and contact.measure.measure_type == "centralised_quarantine"
    placement = placement_create(
        actor=city["township"], person=city.person_a, kind="centralised", room=sites.rooms["101"]
    )
    first_due = placement.due_date
    assert placement.measure_id == contact.measure_id and first_due == contact.measure.end

    # Two days later the same person met a second case: the close-contact period counts from the new exposure.
    confirmed_case(city["cdc"], city.person_c, onset=days_ago(2))
    tracing.exposure_create(
        actor=city["cdc"], source=city.person_c, exposed=city.person_a,
        values={"setting": "workplace", "start": at(days_ago(1), 9), "end": at(days_ago(1), 17)},
    )  # fmt: skip
    placement.refresh_from_db()
    contact.refresh_from_db()
    assert placement.measure_id == contact.measure_id
    assert placement.due_date == first_due + datetime.timedelta(days=2)
    assert placement.measure is not None and placement.measure.explanation  # the engine's why, shown on the page
    open_days = {
        s.due_date for s in Sampling.objects.filter(placement=placement).exclude(status="cancelled") if s.due_date
    }
    assert open_days and max(open_days) <= placement.due_date
    assert {datetime.date.fromisoformat(d) for d in placement.measure.test_dates} >= {
        d for d in open_days if d >= placement.start_at.date()
    }
    assert first_case.case.pk and Placement.objects.filter(person=city.person_a, status="active").count() == 1
