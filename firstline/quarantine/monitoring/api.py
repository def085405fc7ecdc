"""REST API of daily health monitoring: health checks (record, list) and today's follow-up list.

``POST /health-checks/`` records one check (``placement``, ``temperature`` in °C, ``symptoms``, ``at``): 201 when it
created the slot's row, 200 when it updated it (one row per placement, day and slot). ``GET /followup/today/`` is
today's list for the caller (``followup.today_list``): the same rows as the page, as JSON.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from firstline.accounts.models import Department, request_user
from firstline.accounts.roles import Perm
from firstline.core.api import FIELD_ERRORS, service_errors
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import scope_of
from firstline.quarantine.models import CheckSource, Facility, Floor, HealthCheck, Symptom
from firstline.quarantine.monitoring import followup, selectors, services
from firstline.regions.models import Grid


class HealthCheckInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    placement = serializers.IntegerField(help_text="Placement id (the person's active placement).")
    # Text or number: the service explains 3.73, 373 or 99.5 (°F) instead of only refusing them.
    temperature = serializers.CharField(max_length=12, help_text="Body temperature in °C, e.g. 36.6.")
    symptoms = serializers.ListField(
        child=serializers.ChoiceField(choices=Symptom.choices), required=False, default=list, allow_empty=True
    )
    at = serializers.DateTimeField(required=False, help_text="When the check was taken (default: now).")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class HealthCheckSerializer(serializers.ModelSerializer[HealthCheck]):
    class Meta:
        model = HealthCheck
        fields = [
            "id",
            "placement",
            "person",
            "facility",
            "path",
            "day",
            "slot",
            "at",
            "temperature",
            "symptoms",
            "note",
            "alert",
            "source",
            "recorded_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HealthCheckFilter(filters.FilterSet):
    day = filters.DateFilter()
    day_from = filters.DateFilter(field_name="day", lookup_expr="gte")
    day_to = filters.DateFilter(field_name="day", lookup_expr="lte")
    alert = filters.BooleanFilter()
    source = filters.ChoiceFilter(choices=CheckSource.choices)
    division = filters.CharFilter(field_name="path", lookup_expr="startswith")
    grid = filters.CharFilter(field_name="placement__grid__code")

    class Meta:
        model = HealthCheck
        fields = ["placement", "person", "facility", "day", "alert", "source"]


class HealthCheckViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[HealthCheck]
):
    """Health checks of the placements the caller checks (their grid's homes, their sites, their division's)."""

    serializer_class = HealthCheckSerializer
    filterset_class = HealthCheckFilter

    def get_queryset(self) -> Any:
        return selectors.checks_visible_to(self.request.user).order_by("-day", "-slot", "-id")

    @extend_schema(
        request=HealthCheckInputSerializer,
        responses={
            201: HealthCheckSerializer,
            200: OpenApiResponse(HealthCheckSerializer, description="The slot's existing check was updated."),
            400: FIELD_ERRORS,
            403: OpenApiResponse(description="Your role does not record health checks."),
            404: OpenApiResponse(description="No such placement among yours."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not scope_of(request.user).has(Perm.HEALTH_CHECK_RECORD):
            raise exceptions.PermissionDenied("Your role does not record health checks.")
        serializer = HealthCheckInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        placement = selectors.placement_get_for_checks(request.user, data["placement"])
        try:
            check, created = services.health_check_save(
                actor=request_user(request),
                placement=placement,
                at=data.get("at") or timezone.now(),
                temperature=data["temperature"],
                symptoms=data["symptoms"],
                note=data["note"],
                source=CheckSource.API,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return Response(
            HealthCheckSerializer(check).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


_SLOTS = inline_serializer(
    "FollowupSlot",
    {
        "slot": serializers.IntegerField(),
        "time": serializers.CharField(),
        "state": serializers.ChoiceField(
            choices=[followup.DONE, followup.ALERT, followup.OPEN, followup.MISSED, followup.LATER, followup.NOT_PLACED]
        ),
        "check": serializers.DictField(allow_null=True),
    },
    many=True,
)
_SAMPLINGS = inline_serializer(
    "FollowupSampling",
    {"id": serializers.IntegerField(), "due_date": serializers.DateField(), "overdue": serializers.BooleanField()},
    many=True,
)
_ROWS = inline_serializer(
    "FollowupRow",
    {
        "person": serializers.DictField(),
        "placement": serializers.DictField(allow_null=True),
        "slots": _SLOTS,
        "samplings": _SAMPLINGS,
        "release_due": serializers.BooleanField(),
        "alert": serializers.BooleanField(),
        "lost_since": serializers.DateTimeField(allow_null=True),
    },
    many=True,
)
_TODAY = inline_serializer("FollowupToday", {"day": serializers.DateField(), "rows": _ROWS})


def _row_payload(row: followup.TodayRow, *, full: bool) -> dict[str, Any]:
    person = row.person
    placement = row.placement
    return {
        "person": {
            "id": person.pk,
            "name": person.name,
            "id_number": shown(person.id_number, "id_number", full=full),
            "phone": shown(person.phone, "phone", full=full),
            "path": person.path,
        },
        "placement": None
        if placement is None
        else {
            "id": placement.pk,
            "kind": placement.kind,
            "phase": placement.phase,
            "facility": placement.facility_id,
            "where": row.where,
            "measure": row.measure_label,
            "grid": getattr(placement, "grid_code", None),
            "due_date": placement.due_date.isoformat(),
        },
        "slots": [
            {
                "slot": cell.slot.index,
                "time": cell.slot.label,
                "state": cell.state,
                "check": None
                if cell.check is None
                else {
                    "id": cell.check.pk,
                    "temperature": str(cell.check.temperature),
                    "symptoms": cell.check.symptoms,
                    "alert": cell.check.alert,
                    "at": cell.check.at.isoformat(),
                },
            }
            for cell in row.cells
        ],
        "samplings": [
            {"id": s.pk, "due_date": s.due_date, "overdue": bool(s.due_date and s.due_date < row.day)}
            for s in row.samplings
        ],
        "release_due": row.release_due,
        "alert": row.alert,
        "lost_since": row.lost_since,
    }


class FollowupTodayViewSet(viewsets.ViewSet):
    """Today's follow-up list of the caller: who to check, who to test, who is due for release."""

    def _resolve(self, request: Request) -> dict[str, Any]:
        params = request.query_params
        user = request.user
        chosen: dict[str, Any] = {"day": None, "grid": None, "facility": None, "department": None, "floor": None}
        try:
            if params.get("day"):
                day = datetime.date.fromisoformat(params["day"])
                if day > timezone.localdate():
                    raise exceptions.ValidationError({"day": ["Today's list cannot be opened for a day to come."]})
                chosen["day"] = day
            if params.get("grid"):
                chosen["grid"] = Grid.objects.visible_to(user).get(code=params["grid"])
            if params.get("facility"):
                chosen["facility"] = Facility.objects.visible_to(user).get(pk=int(params["facility"]))
            if params.get("floor"):
                chosen["floor"] = Floor.objects.filter(facility__in=Facility.objects.visible_to(user).values("pk")).get(
                    pk=int(params["floor"])
                )
            if params.get("department"):
                chosen["department"] = selectors.teams_for_filter(user).get(pk=int(params["department"]))
        except (Grid.DoesNotExist, Facility.DoesNotExist, Floor.DoesNotExist, Department.DoesNotExist) as exc:
            raise Http404 from exc
        except ValueError as exc:
            raise exceptions.ValidationError({"detail": ["Give day as YYYY-MM-DD and ids as numbers."]}) from exc
        return chosen

    @extend_schema(
        parameters=[
            OpenApiParameter("day", OpenApiTypes.DATE, description="A past day to catch up (default: today)."),
            OpenApiParameter("grid", OpenApiTypes.STR, description="Grid code: its home placements."),
            OpenApiParameter("facility", OpenApiTypes.INT, description="Site id: its people by floor and room."),
            OpenApiParameter("floor", OpenApiTypes.INT, description="Floor id of a site."),
            OpenApiParameter("department", OpenApiTypes.INT, description="Sampling team: samplings assigned to it."),
        ],
        responses={200: _TODAY, 403: OpenApiResponse(description="Not a role with a follow-up list.")},
    )
    def list(self, request: Request) -> Response:
        scope = scope_of(request.user)
        if not any(scope.has(p) for p in (Perm.HEALTH_CHECK_RECORD, Perm.SAMPLING_RECORD, Perm.PLACEMENT_MANAGE)):
            raise exceptions.PermissionDenied("Your role has no follow-up list.")
        chosen = self._resolve(request)
        day = chosen["day"] or timezone.localdate()
        rows = followup.today_list(
            request.user,
            day=day,
            grid=chosen["grid"],
            facility=chosen["facility"],
            department=chosen["department"],
            floor=chosen["floor"],
        )
        full = sees_full_pii(request.user)
        return Response({"day": day, "rows": [_row_payload(row, full=full) for row in rows]})


def register(router: DefaultRouter) -> None:
    """Called from firstline.quarantine.api.register."""
    router.register("health-checks", HealthCheckViewSet, basename="health-check")
    router.register("followup/today", FollowupTodayViewSet, basename="followup-today")
