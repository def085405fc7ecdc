"""Reads of policy editions and assigned measures."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Max, QuerySet
from django.http import Http404

from firstline.policy.engine import Decision, EditionBook, EditionSpec, Evidence, RuleSpec, evaluate
from firstline.policy.models import EditionStatus, Measure, MeasureRule, PolicyEdition, Trigger

_book_cache: dict[str, Any] = {}


def rule_spec(rule: MeasureRule) -> RuleSpec:
    return RuleSpec(
        id=rule.pk,
        trigger=rule.trigger,
        measure=rule.measure,
        duration_days=rule.duration_days,
        anchor=rule.anchor,
        lookback_days=rule.lookback_days,
        test_days=tuple(int(d) for d in rule.test_days),
        follow_on_measure=rule.follow_on_measure,
        follow_on_days=rule.follow_on_days,
        follow_on_test_days=tuple(int(d) for d in rule.follow_on_test_days),
        stay_home_until_negative=rule.stay_home_until_negative,
        priority=rule.priority,
    )


def edition_spec(edition: PolicyEdition, rules: list[MeasureRule]) -> EditionSpec:
    return EditionSpec(
        id=edition.pk,
        name=edition.name,
        effective_from=edition.effective_from,
        rules={rule.trigger: rule_spec(rule) for rule in rules},
        min_tests_when_short=edition.min_tests_when_short,
        min_test_gap_hours=edition.min_test_gap_hours,
        expired_as_low_risk=edition.expired_as_low_risk,
        lifting_shortens_measures=edition.lifting_shortens_measures,
        infectious_days_before=edition.infectious_days_before,
        window_from_last_negative=edition.window_from_last_negative,
    )


def edition_book() -> EditionBook:
    """The published editions as plain data. Cached per process; any edit of an edition bumps updated_at."""
    published = PolicyEdition.objects.filter(status=EditionStatus.PUBLISHED)
    stamp = published.aggregate(latest=Max("updated_at"), n=Max("id"))
    key = f"{stamp['latest']}|{stamp['n']}|{published.count()}"
    if _book_cache.get("key") != key:
        editions = list(published.order_by("-effective_from", "-id").prefetch_related("rules"))
        _book_cache["book"] = EditionBook(tuple(edition_spec(e, list(e.rules.all())) for e in editions))
        _book_cache["key"] = key
    book: EditionBook = _book_cache["book"]
    return book


def edition_list(user: Any) -> QuerySet[PolicyEdition]:
    return PolicyEdition.objects.visible_to(user).prefetch_related("rules")


def edition_get_for_user(user: Any, pk: Any) -> PolicyEdition:
    try:
        return PolicyEdition.objects.visible_to(user).get(pk=pk)
    except (PolicyEdition.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def measures_for_person(user: Any, person_id: int) -> QuerySet[Measure]:
    return Measure.objects.visible_to(user).filter(person_id=person_id).select_related("edition")


def edition_try(
    edition: PolicyEdition,
    *,
    evidence: list[Evidence],
    arrival_date: datetime.date | None,
    today: datetime.date,
    release_certificate: bool = False,
) -> Decision:
    """What ``edition`` alone (draft or published) decides for this evidence; nothing is stored."""
    book = EditionBook((edition_spec(edition, list(edition.rules.all())),))
    return evaluate(
        book=book,
        evidence=evidence,
        arrival_date=arrival_date,
        today=today,
        release_certificate=release_certificate,
    )


TRIGGER_ORDER = (
    Trigger.CLOSE_CONTACT,
    Trigger.SECONDARY_CONTACT,
    Trigger.RISK_HIGH,
    Trigger.RISK_MEDIUM,
    Trigger.RISK_LOW,
    Trigger.COMPANION,
)


def edition_rules(edition: PolicyEdition) -> list[MeasureRule]:
    """The edition's rules in the order of DOMAIN.md's table (contacts, risk areas high → low, companions)."""
    order: dict[str, int] = {str(trigger): index for index, trigger in enumerate(TRIGGER_ORDER)}
    return sorted(edition.rules.all(), key=lambda rule: order.get(rule.trigger, len(order)))


def measure_list(user: Any) -> QuerySet[Measure]:
    return Measure.objects.visible_to(user).select_related("person", "edition").order_by("-start", "-id")


def measure_get_for_user(user: Any, pk: Any) -> Measure:
    try:
        return Measure.objects.visible_to(user).select_related("person", "edition", "rule").get(pk=pk)
    except (Measure.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
