"""API of 协查 batches (list, read, receive a list as JSON rows, feedback) and their people (status actions)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core.exports import FORMATS
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.regions.models import Household
from firstline.screening.assist import selectors, services
from firstline.screening.assist.feedback import feedback_response
from firstline.screening.models import AssistBatch, AssistItem, AssistStatus, HealthCode, Transport


class AssistAccess(permissions.BasePermission):
    """协查 is for those who receive lists or find the people on them (others get 403)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        scope = scope_of(request.user)
        return scope.has(Perm.ASSIST_MANAGE) or scope.has(Perm.ASSIST_HANDLE)


# -- batches ------------------------------------------------------------------------------------------------------


class AssistBatchSerializer(serializers.ModelSerializer[AssistBatch]):
    counts = serializers.SerializerMethodField(help_text="People per status (those visible to the caller), and total.")
    locate_due = serializers.SerializerMethodField()
    control_due = serializers.SerializerMethodField()

    class Meta:
        model = AssistBatch
        fields = [
            "id",
            "reference",
            "source",
            "received_at",
            "deadline_at",
            "locate_within_hours",
            "control_within_hours",
            "locate_due",
            "control_due",
            "path",
            "note",
            "closed_at",
            "version",
            "counts",
            "created_at",
        ]
        read_only_fields = fields

    def get_counts(self, batch: AssistBatch) -> dict[str, int]:
        counts = self.context.get("counts") or {}
        return counts.get(batch.pk, {})  # type: ignore[no-any-return]

    def get_locate_due(self, batch: AssistBatch) -> str:
        return selectors.locate_due(batch).isoformat()

    def get_control_due(self, batch: AssistBatch) -> str:
        return selectors.control_due(batch).isoformat()


class AssistRowSerializer(serializers.Serializer[Any]):
    row_number = serializers.IntegerField(required=False, min_value=1, help_text="The row in the sender's list.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    id_type = serializers.CharField(required=False, allow_blank=True, max_length=40)
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=64)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    address = serializers.CharField(required=False, allow_blank=True, max_length=400)
    origin = serializers.CharField(required=False, allow_blank=True, max_length=300)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=400)


class AssistBatchCreateSerializer(serializers.Serializer[Any]):
    source = serializers.CharField(allow_blank=True, max_length=200)  # type: ignore[assignment]
    reference = serializers.CharField(required=False, allow_blank=True, max_length=80)
    received_at = serializers.DateTimeField(required=False, allow_null=True)
    deadline_at = serializers.DateTimeField(required=False, allow_null=True)
    locate_within_hours = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    control_within_hours = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    note = serializers.CharField(required=False, allow_blank=True)
    path = serializers.CharField(required=False, allow_blank=True, max_length=40, help_text="Receiving jurisdiction.")
    valid_only = serializers.BooleanField(default=False, help_text="Import the valid rows and report the rest.")
    dry_run = serializers.BooleanField(default=False, help_text="Check and route without saving.")
    rows = AssistRowSerializer(many=True)


REPORT_SCHEMA = inline_serializer(
    "AssistBatchReport",
    {
        "rows": serializers.IntegerField(),
        "created": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "errors": serializers.ListField(child=serializers.DictField()),
        "routed": serializers.DictField(),
        "methods": serializers.DictField(),
        "batch": serializers.IntegerField(allow_null=True),
        "dry_run": serializers.BooleanField(),
        "valid_only": serializers.BooleanField(),
    },
)


class AssistBatchFilter(filters.FilterSet):
    state = filters.ChoiceFilter(
        choices=[(s, s) for s in selectors.BATCH_STATES], method="filter_state", label="open, closed or overdue"
    )

    class Meta:
        model = AssistBatch
        fields = ["state"]

    def filter_state(self, queryset: Any, name: str, value: str) -> Any:
        return selectors.batches_in_state(queryset, state=value)


class AssistBatchViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[AssistBatch]
):
    serializer_class = AssistBatchSerializer
    filterset_class = AssistBatchFilter
    permission_classes = [permissions.IsAuthenticated, AssistAccess]

    def get_queryset(self) -> Any:
        return selectors.batch_list(user=self.request.user)

    def get_serializer_class(self) -> Any:
        return AssistBatchCreateSerializer if self.action == "create" else AssistBatchSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        batches = list(page if page is not None else queryset)
        counts = selectors.status_counts(user=request.user, batch_ids=[b.pk for b in batches])
        data = AssistBatchSerializer(
            batches, many=True, context={**self.get_serializer_context(), "counts": counts}
        ).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        batch = self.get_object()
        counts = selectors.status_counts(user=request.user, batch_ids=[batch.pk])
        return Response(AssistBatchSerializer(batch, context={**self.get_serializer_context(), "counts": counts}).data)

    @extend_schema(
        request=AssistBatchCreateSerializer,
        responses={
            201: inline_serializer("AssistBatchCreated", {"batch": AssistBatchSerializer(), "report": REPORT_SCHEMA}),
            200: inline_serializer("AssistBatchDryRun", {"report": REPORT_SCHEMA}),
            400: inline_serializer("AssistBatchRejected", {"detail": serializers.CharField(), "report": REPORT_SCHEMA}),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, Perm.ASSIST_MANAGE)  # 403 before any 400 about the body
        serializer = AssistBatchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        report = services.batch_create(
            actor=request_user(request),
            source=data["source"],
            reference=data.get("reference", ""),
            received_at=data.get("received_at"),
            deadline_at=data.get("deadline_at"),
            locate_within_hours=data.get("locate_within_hours"),
            control_within_hours=data.get("control_within_hours"),
            note=data.get("note", ""),
            path=data.get("path") or None,
            valid_only=data["valid_only"],
            dry_run=data["dry_run"],
            rows=data["rows"],
        )
        if report.batch is not None:
            counts = selectors.status_counts(user=request.user, batch_ids=[report.batch.pk])
            batch = AssistBatchSerializer(report.batch, context={**self.get_serializer_context(), "counts": counts})
            return Response({"batch": batch.data, "report": report.as_dict()}, status=status.HTTP_201_CREATED)
        if report.dry_run:
            return Response({"report": report.as_dict()})
        return Response(
            {"detail": "Rows were rejected: nothing was saved.", "report": report.as_dict()},
            status=status.HTTP_400_BAD_REQUEST,
        )

    @extend_schema(
        parameters=[OpenApiParameter("fmt", str, enum=[*FORMATS], description="xlsx (default) or csv")],
        responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def feedback(self, request: Request, pk: str | None = None) -> HttpResponseBase:
        """The feedback workbook for the level that pushed the list."""
        batch = self.get_object()
        require(request.user, Perm.ASSIST_MANAGE)
        fmt = request.query_params.get("fmt", "xlsx")
        if fmt not in FORMATS:
            return Response({"fmt": ["Use xlsx or csv."]}, status=status.HTTP_400_BAD_REQUEST)
        return feedback_response(user=request.user, batch=batch, fmt=fmt)


# -- people -------------------------------------------------------------------------------------------------------


class AssistItemSerializer(serializers.ModelSerializer[AssistItem]):
    household: serializers.SlugRelatedField[Household] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    measure = serializers.SerializerMethodField()

    class Meta:
        model = AssistItem
        fields = [
            "id",
            "batch",
            "row_number",
            "name",
            "id_type",
            "id_number",
            "phone",
            "address",
            "origin",
            "reason",
            "person",
            "path",
            "household",
            "status",
            "located_at",
            "controlled_at",
            "left_to",
            "transferred_to",
            "outcome_note",
            "arrival",
            "measure",
            "escalated_at",
            "version",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_measure(self, item: AssistItem) -> dict[str, Any] | None:
        if item.measure is None:
            return None
        return {
            "id": item.measure.pk,
            "measure_type": item.measure.measure_type,
            "start": item.measure.start.isoformat(),
            "end": item.measure.end.isoformat(),
        }

    def to_representation(self, instance: AssistItem) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        full = sees_full_pii(request.user) if request is not None else False
        for name in AssistItem.PII_FIELDS:
            data[name] = shown(data.get(name) or "", name, full=full)
        return data


class AssistItemFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=AssistStatus.choices)
    township = filters.CharFilter(field_name="path", lookup_expr="startswith", label="division code")

    class Meta:
        model = AssistItem
        fields = ["batch", "status", "township"]


class NoteSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(help_text="The version you saw (optimistic locking).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class LeftSerializer(NoteSerializer):
    left_to = serializers.CharField(allow_blank=True, max_length=200)


class TransferSerializer(NoteSerializer):
    transferred_to = serializers.CharField(allow_blank=True, max_length=200)


class RouteSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField()
    path = serializers.CharField(max_length=40)


class TravelSerializer(serializers.Serializer[Any]):
    place = serializers.CharField(max_length=200)
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)


class ControlSerializer(NoteSerializer):
    arrival_date = serializers.DateField()
    origin = serializers.CharField(required=False, allow_blank=True, max_length=200)
    travel = TravelSerializer(many=True, required=False)
    household: serializers.SlugRelatedField[Household] = serializers.SlugRelatedField(
        slug_field="code", queryset=Household.objects.none(), required=False, allow_null=True
    )
    transport = serializers.ChoiceField(choices=Transport.choices, required=False, allow_blank=True)
    transport_no = serializers.CharField(required=False, allow_blank=True, max_length=40)
    health_code = serializers.ChoiceField(choices=HealthCode.choices, required=False, allow_blank=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["household"].queryset = Household.objects.visible_to(request.user)  # type: ignore[attr-defined]


class AssistItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[AssistItem]):
    serializer_class = AssistItemSerializer
    filterset_class = AssistItemFilter
    permission_classes = [permissions.IsAuthenticated, AssistAccess]

    def get_queryset(self) -> Any:
        return selectors.item_list(user=self.request.user)

    def _act(self, request: Request, serializer_class: type[serializers.Serializer[Any]], run: Any) -> Response:
        item = self.get_object()
        serializer = serializer_class(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        item = run(actor=request_user(request), item=item, expected_version=data.pop("version"), data=data)
        return Response(AssistItemSerializer(item, context=self.get_serializer_context()).data)

    @extend_schema(request=NoteSerializer, responses=AssistItemSerializer)
    @action(detail=True, methods=["post"])
    def locate(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            NoteSerializer,
            lambda data, **kw: services.item_locate(**kw, note=data.get("note", "")),
        )

    @extend_schema(request=NoteSerializer, responses=AssistItemSerializer)
    @action(detail=True, methods=["post"], url_path="not-found")
    def not_found(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            NoteSerializer,
            lambda data, **kw: services.item_not_found(**kw, note=data.get("note", "")),
        )

    @extend_schema(request=LeftSerializer, responses=AssistItemSerializer)
    @action(detail=True, methods=["post"])
    def left(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            LeftSerializer,
            lambda data, **kw: services.item_left(**kw, left_to=data["left_to"], note=data.get("note", "")),
        )

    @extend_schema(request=TransferSerializer, responses=AssistItemSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            TransferSerializer,
            lambda data, **kw: services.item_transfer(
                **kw, transferred_to=data["transferred_to"], note=data.get("note", "")
            ),
        )

    @extend_schema(request=ControlSerializer, responses=AssistItemSerializer)
    @action(detail=True, methods=["post"])
    def control(self, request: Request, pk: str | None = None) -> Response:
        def run(data: dict[str, Any], **kw: Any) -> AssistItem:
            note = data.pop("note", "")
            arrival = {key: value for key, value in data.items() if value not in (None, "")}
            arrival["travel"] = [dict(t) for t in data.get("travel") or []]
            return services.item_control(**kw, arrival_data=arrival, note=note)

        return self._act(request, ControlSerializer, run)

    @extend_schema(request=RouteSerializer, responses=AssistItemSerializer)
    @action(detail=True, methods=["post"])
    def route(self, request: Request, pk: str | None = None) -> Response:
        return self._act(request, RouteSerializer, lambda data, **kw: services.item_route(**kw, path=data["path"]))


def register(router: BaseRouter) -> None:
    """Routes of this part of screening."""
    router.register("assist-batches", AssistBatchViewSet, basename="assist-batch")
    router.register("assist-items", AssistItemViewSet, basename="assist-item")
