"""API of arrival screening: arrivals (list, retrieve, register), registration points and re-evaluation runs.

Errors of ``POST /arrivals/`` are one flat object of field paths, whichever layer found them: the request's nesting
is kept in the key (``person.name``, ``person.id_number``, ``travel[0].date_from``, ``address``, ``household`` …),
each with a list of messages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import scope_of
from firstline.people.models import IdType
from firstline.policy.explain import measure_payload
from firstline.policy.models import MeasureType
from firstline.regions.models import Division, Household
from firstline.screening import selectors, services
from firstline.screening.assist import api as assist_api
from firstline.screening.campaigns import api as campaigns_api
from firstline.screening.imports import api as imports_api
from firstline.screening.models import (
    Arrival,
    ArrivalSource,
    ArrivalStatus,
    HealthCode,
    Reevaluation,
    RegistrationPoint,
    Transport,
    TravelItem,
)

# Service error keys that belong to the nested ``person`` object of the request, and renamed fields.
PERSON_ERROR_KEYS = {"name", "id_type", "id_number", "phone", "ethnicity", "sex", "birth_date"}
RENAMED_ERROR_KEYS = {"destination_address": "address"}


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as ``{"person.name": [...], "travel[1].date_from": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a list serializer's errors by item index
                name = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for sub, messages in flatten_errors(value, name).items():
                flat.setdefault(sub, []).extend(messages)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, value in enumerate(detail):
            for sub, messages in flatten_errors(value, f"{prefix}[{index}]").items():
                flat.setdefault(sub, []).extend(messages)
    elif isinstance(detail, list):
        flat[prefix or "non_field_errors"] = [str(item) for item in detail]
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def service_error_keys(error: DjangoValidationError) -> dict[str, list[str]]:
    """The service's keys in the request's terms: ``name`` → ``person.name``, ``destination_address`` → ``address``."""
    if not hasattr(error, "error_dict"):
        return {"non_field_errors": list(error.messages)}
    result: dict[str, list[str]] = {}
    for key, messages in error.message_dict.items():
        name = f"person.{key}" if key in PERSON_ERROR_KEYS else RENAMED_ERROR_KEYS.get(key, key)
        result.setdefault(name, []).extend(messages)
    return result


# -- serializers ------------------------------------------------------------------------------------------------


class FollowOnPayloadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    type = serializers.ChoiceField(choices=MeasureType.choices)
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    test_dates = serializers.ListField(child=serializers.DateField())


class MeasurePayloadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The measure an arrival needs (``type`` "none" when nothing applies), with the explanation as text."""

    type = serializers.ChoiceField(choices=MeasureType.choices)
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    test_dates = serializers.ListField(child=serializers.DateField())
    follow_on = FollowOnPayloadSerializer(allow_null=True)
    explanation = serializers.CharField(help_text="The explanation as sentences, in the request's language.")
    explanation_detail = serializers.DictField(help_text="The engine's explanation (language-neutral).")


class ArrivalPersonInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    # Blank values reach the service, which reports every bad field at once with the domain's messages.
    name = serializers.CharField(max_length=100, allow_blank=True)
    id_type = serializers.ChoiceField(choices=IdType.choices, default=IdType.RESIDENT)
    id_number = serializers.CharField(max_length=64, allow_blank=True)
    phone = serializers.CharField(max_length=40, allow_blank=True, required=False, default="")


class TravelInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    place = serializers.CharField(max_length=200, allow_blank=True)
    date_from = serializers.DateField(required=False, allow_null=True, help_text="Defaults to date_to.")
    date_to = serializers.DateField(required=False, allow_null=True, help_text="Defaults to the arrival date.")


class ArrivalCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    person = ArrivalPersonInputSerializer()
    origin = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    travel = TravelInputSerializer(many=True, required=False)
    arrival_date = serializers.DateField()
    arrival_time = serializers.TimeField(required=False, allow_null=True)
    address = serializers.CharField(
        max_length=300, allow_blank=True, required=False, default="", help_text="Destination address (free text)."
    )
    household = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Household.objects.none(),
        required=False,
        allow_null=True,
        help_text="Destination household code; without it the arrival waits in a division's queue.",
    )
    division = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Division.objects.all(),
        required=False,
        allow_null=True,
        help_text="Division code whose queue receives an arrival without a household.",
    )
    transport = serializers.ChoiceField(choices=Transport.choices, required=False, allow_blank=True, default="")
    transport_no = serializers.CharField(max_length=40, allow_blank=True, required=False, default="")
    health_code = serializers.ChoiceField(choices=HealthCode.choices, required=False, allow_blank=True, default="")
    vaccine_doses = serializers.IntegerField(min_value=0, max_value=6, required=False, allow_null=True)
    last_negative_test_at = serializers.DateTimeField(required=False, allow_null=True)
    release_certificate = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(allow_blank=True, required=False, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["household"].queryset = Household.objects.visible_to(request.user)  # type: ignore[attr-defined]

    def service_data(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "person": dict(data["person"]),
            "origin": data.get("origin", ""),
            "travel": [dict(item) for item in data.get("travel") or []],
            "arrival_date": data["arrival_date"],
            "arrival_time": data.get("arrival_time"),
            "transport": data.get("transport", ""),
            "transport_no": data.get("transport_no", ""),
            "health_code": data.get("health_code", ""),
            "vaccine_doses": data.get("vaccine_doses"),
            "last_negative_test_at": data.get("last_negative_test_at"),
            "destination_address": data.get("address", ""),
            "release_certificate": data.get("release_certificate", False),
            "note": data.get("note", ""),
            "household": data.get("household"),
            "division": data.get("division"),
        }


class ArrivalPersonSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    name = serializers.CharField()
    id_type = serializers.CharField()
    id_number = serializers.CharField(help_text="Masked unless the caller sees full personal data.")
    phone = serializers.CharField(help_text="Masked unless the caller sees full personal data.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        request = self.context.get("request")
        full = sees_full_pii(request.user) if request is not None else False
        return {
            "id": instance.pk,
            "name": instance.name,
            "id_type": instance.id_type,
            "id_number": shown(instance.id_number, "id_number", full=full),
            "phone": shown(instance.phone or "", "phone", full=full),
        }


class TravelItemSerializer(serializers.ModelSerializer[TravelItem]):
    place = serializers.CharField(source="place_text")

    class Meta:
        model = TravelItem
        fields = ["place", "place_code", "date_from", "date_to"]
        read_only_fields = fields


class ArrivalSerializer(serializers.ModelSerializer[Arrival]):
    person = ArrivalPersonSerializer(read_only=True)
    household: serializers.SlugRelatedField[Household] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    address = serializers.CharField(source="destination_address", read_only=True)
    travel = TravelItemSerializer(many=True, read_only=True)
    measure = serializers.SerializerMethodField()

    class Meta:
        model = Arrival
        fields = [
            "id",
            "person",
            "path",
            "household",
            "origin",
            "arrival_date",
            "arrival_time",
            "transport",
            "transport_no",
            "health_code",
            "vaccine_doses",
            "last_negative_test_at",
            "address",
            "release_certificate",
            "source",
            "status",
            "needs_review",
            "registration_point",
            "travel",
            "measure",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(MeasurePayloadSerializer)
    def get_measure(self, arrival: Arrival) -> dict[str, Any]:
        return measure_payload(arrival.measure)


class ArrivalRegistrationSerializer(ArrivalSerializer):
    """The registered arrival, with what the registration did."""

    change = serializers.CharField(read_only=True, help_text="created | replaced | unchanged | kept | cancelled | none")
    person_created = serializers.BooleanField(read_only=True)
    arrival_created = serializers.BooleanField(read_only=True)
    tasks = serializers.ListField(child=serializers.IntegerField(), read_only=True, help_text="Ids of tasks created.")

    class Meta(ArrivalSerializer.Meta):
        fields = [*ArrivalSerializer.Meta.fields, "change", "person_created", "arrival_created", "tasks"]
        read_only_fields = fields


class ArrivalFilter(filters.FilterSet):
    arrival_date_from = filters.DateFilter(field_name="arrival_date", lookup_expr="gte")
    arrival_date_to = filters.DateFilter(field_name="arrival_date", lookup_expr="lte")
    measure_type = filters.ChoiceFilter(choices=MeasureType.choices, method="filter_measure_type")
    source = filters.ChoiceFilter(choices=ArrivalSource.choices)
    status = filters.ChoiceFilter(choices=ArrivalStatus.choices)
    needs_review = filters.BooleanFilter()
    unresolved = filters.BooleanFilter(method="filter_unresolved", label="no destination household yet")
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", label="grid or division code")
    # A plain number, not a choice among all persons: an out-of-scope id must look like one without arrivals.
    person = filters.NumberFilter(field_name="person_id")

    class Meta:
        model = Arrival
        fields = ["source", "status", "needs_review"]

    def filter_measure_type(self, queryset: Any, name: str, value: str) -> QuerySet[Arrival]:
        if value == MeasureType.NONE:
            return queryset.filter(measure__isnull=True)  # type: ignore[no-any-return]
        return queryset.filter(measure__measure_type=value)  # type: ignore[no-any-return]

    def filter_unresolved(self, queryset: Any, name: str, value: bool | None) -> QuerySet[Arrival]:
        if value is None:
            return queryset  # type: ignore[no-any-return]
        return queryset.filter(household__isnull=value)  # type: ignore[no-any-return]


_ERROR_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        name="ArrivalErrors", fields={"person.name": serializers.ListField(child=serializers.CharField())}
    ),
    description="Field paths (``person.name``, ``travel[0].date_from``, ``household`` …) with their messages.",
)


class ArrivalViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Arrival]
):
    """Arrivals in the caller's jurisdiction. POST registers one: the measure and its explanation come back."""

    serializer_class = ArrivalSerializer
    filterset_class = ArrivalFilter

    def get_queryset(self) -> Any:
        if not scope_of(self.request.user).has(Perm.PERSON_VIEW):
            return Arrival.objects.none()
        return selectors.arrival_list(
            user=self.request.user, filters={"q": self.request.query_params.get("search", "")}
        ).prefetch_related("travel")

    def get_serializer_class(self) -> Any:
        return ArrivalCreateSerializer if self.action == "create" else ArrivalSerializer

    @extend_schema(
        request=ArrivalCreateSerializer,
        responses={
            201: ArrivalRegistrationSerializer,
            200: OpenApiResponse(
                ArrivalRegistrationSerializer, description="The same person's arrival that day, updated."
            ),
            400: _ERROR_RESPONSE,
            403: OpenApiResponse(description="The caller's role does not register arrivals."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ArrivalCreateSerializer(data=request.data, context=self.get_serializer_context())
        if not serializer.is_valid():
            raise exceptions.ValidationError(flatten_errors(serializer.errors))
        try:
            result = services.arrival_register(
                actor=request_user(request), data=serializer.service_data(), source=ArrivalSource.GRID_WORKER
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError(service_error_keys(error)) from error
        arrival = Arrival.objects.select_related("person", "household", "measure").get(pk=result.arrival.pk)
        body = dict(ArrivalSerializer(arrival, context=self.get_serializer_context()).data)
        body["measure"] = measure_payload(result.measure if result.measure is not None else result.decision)
        body.update(
            change=result.change,
            person_created=result.person_created,
            arrival_created=result.arrival_created,
            tasks=[task.pk for task in result.tasks],
        )
        return Response(body, status=status.HTTP_201_CREATED if result.arrival_created else status.HTTP_200_OK)


class RegistrationPointSerializer(serializers.ModelSerializer[RegistrationPoint]):
    division: serializers.SlugRelatedField[Division] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    url = serializers.SerializerMethodField(help_text="The public self-registration page the QR code leads to.")

    class Meta:
        model = RegistrationPoint
        fields = ["id", "kind", "name", "division", "path", "active", "url", "created_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, point: RegistrationPoint) -> str:
        path = reverse("public:register", args=[point.token])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class RegistrationPointViewSet(viewsets.ReadOnlyModelViewSet[RegistrationPoint]):
    """Self-registration points in the caller's jurisdiction."""

    serializer_class = RegistrationPointSerializer
    filterset_fields = ["kind", "active"]

    def get_queryset(self) -> Any:
        return selectors.point_list(user=self.request.user)


class ReevaluationSerializer(serializers.ModelSerializer[Reevaluation]):
    sentences = serializers.SerializerMethodField(help_text="The change list as sentences.")

    class Meta:
        model = Reevaluation
        fields = [
            "id",
            "reason",
            "kind",
            "status",
            "rows_total",
            "rows_done",
            "summary",
            "sentences",
            "message",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_sentences(self, run: Reevaluation) -> list[str]:
        return [selectors.change_sentence(row, reason=run.reason) for row in run.summary or []]


class ReevaluationDetailSerializer(ReevaluationSerializer):
    changed = serializers.SerializerMethodField(help_text="[arrival id, change, measure] for arrivals the caller sees.")

    class Meta(ReevaluationSerializer.Meta):
        fields = [*ReevaluationSerializer.Meta.fields, "changed"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ListField(child=serializers.CharField())))
    def get_changed(self, run: Reevaluation) -> list[list[Any]]:
        request = self.context.get("request")
        if request is None:
            return []
        arrivals, changes = selectors.reevaluation_changed_arrivals(run, user=request.user)
        visible = set(arrivals.values_list("pk", flat=True))
        return [row for row in run.changed or [] if row[0] in visible and row[0] in changes]


class ReevaluationViewSet(viewsets.ReadOnlyModelViewSet[Reevaluation]):
    """Re-evaluations after the risk-area list or the policy changed, with their change lists."""

    filterset_fields = ["status", "kind"]

    def get_queryset(self) -> Any:
        return selectors.reevaluation_list(user=self.request.user)

    def get_serializer_class(self) -> Any:
        return ReevaluationDetailSerializer if self.action == "retrieve" else ReevaluationSerializer


def register(router: BaseRouter) -> None:
    """Arrivals, registration points, re-evaluations, imports, 协查 batches and campaigns."""
    router.register("arrivals", ArrivalViewSet, basename="arrival")
    router.register("registration-points", RegistrationPointViewSet, basename="registration-point")
    router.register("reevaluations", ReevaluationViewSet, basename="reevaluation")
    imports_api.register(router)
    assist_api.register(router)
    campaigns_api.register(router)
