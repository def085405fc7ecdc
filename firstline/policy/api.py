"""Read-only API of policy editions (public to signed-in users) and assigned measures (scoped)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.routers import BaseRouter

from firstline.policy import selectors
from firstline.policy.explain import explanation_text, measure_payload
from firstline.policy.models import Measure, MeasureRule, MeasureStatus, MeasureType, PolicyEdition

__all__ = ["measure_payload", "register"]


class MeasureRuleSerializer(serializers.ModelSerializer[MeasureRule]):
    class Meta:
        model = MeasureRule
        fields = [
            "id",
            "trigger",
            "measure",
            "duration_days",
            "anchor",
            "lookback_days",
            "test_days",
            "follow_on_measure",
            "follow_on_days",
            "follow_on_test_days",
            "stay_home_until_negative",
            "priority",
            "note",
        ]
        read_only_fields = fields


class PolicyEditionSerializer(serializers.ModelSerializer[PolicyEdition]):
    rules = MeasureRuleSerializer(many=True, read_only=True)

    class Meta:
        model = PolicyEdition
        fields = [
            "id",
            "name",
            "effective_from",
            "status",
            "description",
            "based_on",
            "infectious_days_before",
            "window_from_last_negative",
            "min_tests_when_short",
            "min_test_gap_hours",
            "expired_as_low_risk",
            "lifting_shortens_measures",
            "early_release_allowed",
            "version",
            "created_at",
            "updated_at",
            "rules",
        ]
        read_only_fields = fields


class PolicyEditionFilter(filters.FilterSet):
    in_force_on = filters.DateFilter(
        method="filter_in_force_on", label="the published edition in force on this day (YYYY-MM-DD)"
    )

    class Meta:
        model = PolicyEdition
        fields = ["status"]

    def filter_in_force_on(self, queryset: Any, name: str, value: datetime.date) -> QuerySet[PolicyEdition]:
        edition = queryset.in_force_on(value)
        return queryset.filter(pk=edition.pk) if edition is not None else queryset.none()


class PolicyEditionViewSet(viewsets.ReadOnlyModelViewSet[PolicyEdition]):
    serializer_class = PolicyEditionSerializer
    filterset_class = PolicyEditionFilter

    def get_queryset(self) -> Any:
        return selectors.edition_list(self.request.user).order_by("-effective_from", "-id")


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {
            "type": {"type": "string"},
            "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"},
            "test_dates": {"type": "array", "items": {"type": "string", "format": "date"}},
        },
    }
)
class FollowOnField(serializers.Field):  # type: ignore[type-arg]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Measure) -> dict[str, Any] | None:
        follow_on: dict[str, Any] | None = measure_payload(value)["follow_on"]
        return follow_on


class MeasureSerializer(serializers.ModelSerializer[Measure]):
    follow_on = FollowOnField()
    explanation = serializers.SerializerMethodField(help_text="The explanation as text, in the request's language.")
    explanation_detail = serializers.SerializerMethodField(help_text="The engine's explanation (language-neutral).")
    test_dates = serializers.ListField(child=serializers.DateField(), read_only=True)

    class Meta:
        model = Measure
        fields = [
            "id",
            "person",
            "path",
            "edition",
            "rule",
            "trigger",
            "measure_type",
            "status",
            "counted_from",
            "start",
            "end",
            "test_dates",
            "follow_on",
            "explanation",
            "explanation_detail",
            "superseded_by",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_explanation(self, measure: Measure) -> str:
        return explanation_text(measure.explanation)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_explanation_detail(self, measure: Measure) -> dict[str, Any]:
        return measure.explanation if isinstance(measure.explanation, dict) else {}


class MeasureFilter(filters.FilterSet):
    # A plain number, not a choice among all persons: an out-of-scope id must look like one without measures.
    person = filters.NumberFilter(field_name="person_id")
    status = filters.ChoiceFilter(choices=MeasureStatus.choices)
    measure_type = filters.ChoiceFilter(choices=MeasureType.choices)

    class Meta:
        model = Measure
        fields = ["person", "status", "measure_type"]


class MeasureViewSet(viewsets.ReadOnlyModelViewSet[Measure]):
    serializer_class = MeasureSerializer
    filterset_class = MeasureFilter

    def get_queryset(self) -> Any:
        return selectors.measure_list(self.request.user)


def register(router: BaseRouter) -> None:
    """API routes of this app."""
    router.register("policy-editions", PolicyEditionViewSet, basename="policy-edition")
    router.register("measures", MeasureViewSet, basename="measure")
