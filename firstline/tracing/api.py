"""REST API of tracing: cases (with their contacts), exposures and contacts; venues/check-ins and clusters register
their own viewsets from their sub-packages.

``GET /cases/{id}/contacts/?hops=1|2`` returns the same structure as ``manage.py trace_case CASE_ID --json``
(``selectors.case_contacts``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from firstline.accounts.models import request_user
from firstline.core.pii import sees_full_pii
from firstline.people.models import IdType
from firstline.policy.explain import measure_payload
from firstline.tracing import selectors, services
from firstline.tracing.models import (
    Case,
    Classification,
    Contact,
    ContactKind,
    ContactStatus,
    Exposure,
    ExposureOrigin,
    ExposureStatus,
    FoundBy,
    Outcome,
    Protection,
    Proximity,
    Setting,
)

_ERRORS = OpenApiResponse(description="Errors by field: `{field: [message, ...]}`.")


def _service_errors(error: DjangoValidationError) -> exceptions.ValidationError:
    detail: Any = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
    return exceptions.ValidationError(detail)


def _derivation(result: services.Derivation) -> dict[str, list[int]]:
    return result.as_dict()


class PersonRefSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=100)
    id_type = serializers.ChoiceField(choices=IdType.choices, default=IdType.RESIDENT)
    id_number = serializers.CharField(max_length=40)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    division = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text="Division code of a new person."
    )


# The schema of ``PersonField``: a person id, or the fields of ``PersonRefSerializer``.
_PERSON_REF_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "integer", "description": "The id of a registered person."},
        {
            "type": "object",
            "description": "A person to find by document, or to register.",
            "properties": {
                "name": {"type": "string", "maxLength": 100},
                "id_type": {"type": "string", "enum": list(IdType.values), "default": IdType.RESIDENT.value},
                "id_number": {"type": "string", "maxLength": 40},
                "phone": {"type": "string", "maxLength": 20},
                "division": {"type": "string", "maxLength": 40, "description": "Division code of a new person."},
            },
            "required": ["name", "id_number"],
        },
    ]
}


@extend_schema_field(_PERSON_REF_SCHEMA)
class PersonField(serializers.Field):  # type: ignore[type-arg]
    """A person id, or ``{name, id_type, id_number, phone}`` for a person to find or register."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            serializer = PersonRefSerializer(data=data)
            serializer.is_valid(raise_exception=True)
            return dict(serializer.validated_data)
        try:
            return int(data)
        except (TypeError, ValueError) as exc:
            raise serializers.ValidationError("Give a person id or {name, id_type, id_number, phone}.") from exc

    def to_representation(self, value: Any) -> Any:
        return value


class CaseInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    person = PersonField(help_text="A person id, or an object {name, id_type, id_number, phone[, division]}.")
    classification = serializers.ChoiceField(choices=Classification.choices)
    onset_date = serializers.DateField(required=False, allow_null=True)
    sampling_date = serializers.DateField(required=False, allow_null=True)
    last_negative_date = serializers.DateField(required=False, allow_null=True)
    report_date = serializers.DateField()
    isolated_on = serializers.DateField(required=False, allow_null=True)
    found_by = serializers.ChoiceField(choices=FoundBy.choices, required=False, default=FoundBy.OTHER)
    isolation_place = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class CaseUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    version = serializers.IntegerField()
    classification = serializers.ChoiceField(choices=Classification.choices, required=False)
    onset_date = serializers.DateField(required=False, allow_null=True)
    sampling_date = serializers.DateField(required=False, allow_null=True)
    last_negative_date = serializers.DateField(required=False, allow_null=True)
    report_date = serializers.DateField(required=False)
    isolated_on = serializers.DateField(required=False, allow_null=True)
    found_by = serializers.ChoiceField(choices=FoundBy.choices, required=False)
    isolation_place = serializers.CharField(required=False, allow_blank=True, max_length=200)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    outcome_date = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class CaseSerializer(serializers.ModelSerializer[Case]):
    person = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "person",
            "path",
            "classification",
            "onset_date",
            "sampling_date",
            "last_negative_date",
            "report_date",
            "isolated_on",
            "found_by",
            "isolation_place",
            "outcome",
            "outcome_date",
            "infectious_from",
            "infectious_until",
            "window",
            "confirmed_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_person(self, case: Case) -> dict[str, Any]:
        return selectors.person_payload(case.person, full=sees_full_pii(self.context["request"].user))


class CaseFilter(filters.FilterSet):
    classification = filters.ChoiceFilter(choices=Classification.choices)
    reported_from = filters.DateFilter(field_name="report_date", lookup_expr="gte")
    reported_to = filters.DateFilter(field_name="report_date", lookup_expr="lte")
    division = filters.CharFilter(field_name="path", lookup_expr="startswith")

    class Meta:
        model = Case
        fields = ["classification", "found_by", "outcome"]


_CHANGES = inline_serializer(
    "DerivationChanges",
    {
        "created": serializers.ListField(child=serializers.IntegerField()),
        "changed": serializers.ListField(child=serializers.IntegerField()),
        "released": serializers.ListField(child=serializers.IntegerField()),
    },
)


class CaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Case],
):
    """Cases in the caller's jurisdiction. POST reports one (window, household and co-presence exposures and
    contacts follow); PATCH with ``version`` re-dates or re-classifies it; both return what the derivation changed
    (person ids of contacts created, changed and released)."""

    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.cases_visible_to(self.request.user).order_by("-report_date", "-id")

    def _answer(self, result: services.CaseResult, code: int) -> Response:
        case = selectors.cases_visible_to(self.request.user).filter(pk=result.case.pk).first() or result.case
        body = dict(CaseSerializer(case, context=self.get_serializer_context()).data)
        body["derivation"] = _derivation(result.derivation)
        body["exposures_found"] = result.exposures_found
        return Response(body, status=code)

    @extend_schema(
        request=CaseInputSerializer,
        responses={201: CaseSerializer, 400: _ERRORS, 403: OpenApiResponse(description="Not an epidemiologist.")},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CaseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        person = data.pop("person")
        try:
            result = services.case_create(
                actor=request_user(request),
                values=data,
                person=person if isinstance(person, int) else None,
                person_data=person if isinstance(person, dict) else None,
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        return self._answer(result, status.HTTP_201_CREATED)

    @extend_schema(request=CaseUpdateSerializer, responses={200: CaseSerializer, 400: _ERRORS, 409: None})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = selectors.case_get_for_user(request.user, kwargs["pk"])
        serializer = CaseUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        try:
            result = services.case_update(actor=request_user(request), case=case, expected_version=version, values=data)
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        return self._answer(result, status.HTTP_200_OK)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(
        parameters=[OpenApiParameter("hops", OpenApiTypes.INT, enum=[1, 2], description="1: close; 2: and secondary.")],
        responses={
            200: inline_serializer(
                "CaseContacts",
                {
                    "case": serializers.DictField(),
                    "close": serializers.ListField(child=serializers.DictField()),
                    "secondary": serializers.ListField(child=serializers.DictField()),
                    "outside_scope": serializers.IntegerField(),
                },
            )
        },
    )
    @action(detail=True, methods=["get"])
    def contacts(self, request: Request, pk: str | None = None) -> Response:
        """Close (and with ``hops=2`` secondary) contacts: person (ID masked as the caller may see), measure with
        its explanation, and the exposures each rests on."""
        case = selectors.case_get_for_user(request.user, pk)
        hops = request.query_params.get("hops", "1")
        if hops not in {"1", "2"}:
            raise exceptions.ValidationError({"hops": ["Use 1 or 2."]})
        return Response(selectors.case_contacts(request.user, case, hops=int(hops)))


class ExposureInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    source = serializers.IntegerField(help_text="Person id of the case or contact.")  # type: ignore[assignment]
    exposed = serializers.IntegerField(help_text="Person id of the exposed person.")
    setting = serializers.ChoiceField(choices=Setting.choices)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(required=False, allow_null=True)
    proximity = serializers.ChoiceField(choices=Proximity.choices, required=False, default=Proximity.UNKNOWN)
    protection = serializers.ChoiceField(choices=Protection.choices, required=False, default=Protection.UNKNOWN)
    evidence = serializers.CharField(required=False, allow_blank=True, default="")


class ExposureSerializer(serializers.ModelSerializer[Exposure]):
    class Meta:
        model = Exposure
        fields = [
            "id",
            "source",
            "exposed",
            "path",
            "start",
            "end",
            "setting",
            "proximity",
            "protection",
            "evidence",
            "origin",
            "status",
            "venue",
            "overlap_minutes",
            "decided_at",
            "decision_note",
            "version",
            "created_at",
        ]
        read_only_fields = fields


class ExposureDecisionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    accept = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ExposureFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ExposureStatus.choices)
    origin = filters.ChoiceFilter(choices=ExposureOrigin.choices)
    setting = filters.ChoiceFilter(choices=Setting.choices)
    since = filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")

    class Meta:
        model = Exposure
        fields = ["source", "exposed", "status", "origin", "setting"]


class ExposureViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Exposure]
):
    """Exposures of people in the caller's jurisdiction. POST records one (CDC: the exposed person may be in any
    jurisdiction; the contact is routed there); ``POST /{id}/decide/`` confirms or rejects."""

    serializer_class = ExposureSerializer
    filterset_class = ExposureFilter

    def get_queryset(self) -> Any:
        return selectors.exposures_visible_to(self.request.user).order_by("-start", "-id")

    @extend_schema(request=ExposureInputSerializer, responses={201: ExposureSerializer, 400: _ERRORS, 403: None})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ExposureInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            result = services.exposure_create(
                actor=request_user(request), source=data.pop("source"), exposed=data.pop("exposed"), values=data
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        body = dict(ExposureSerializer(result.exposure).data)
        body["derivation"] = _derivation(result.derivation)
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=ExposureDecisionSerializer, responses={200: ExposureSerializer, 400: _ERRORS})
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        exposure = selectors.exposure_get_for_user(request.user, pk)
        serializer = ExposureDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = services.exposure_decide(
                actor=request_user(request),
                exposure=exposure,
                accept=serializer.validated_data["accept"],
                note=serializer.validated_data["note"],
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        body = dict(ExposureSerializer(result.exposure).data)
        body["derivation"] = _derivation(result.derivation)
        return Response(body)


class ContactSerializer(serializers.ModelSerializer[Contact]):
    person = serializers.SerializerMethodField()
    measure = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "person",
            "path",
            "kind",
            "status",
            "first_exposure_at",
            "last_exposure_at",
            "isolated_at",
            "index_case",
            "measure",
            "released_at",
            "release_reason",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_person(self, contact: Contact) -> dict[str, Any]:
        return selectors.person_payload(contact.person, full=sees_full_pii(self.context["request"].user))

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_measure(self, contact: Contact) -> dict[str, Any]:
        return measure_payload(contact.measure)


class ContactFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=ContactKind.choices)
    status = filters.ChoiceFilter(choices=ContactStatus.choices)
    division = filters.CharFilter(field_name="path", lookup_expr="startswith")

    class Meta:
        model = Contact
        fields = ["kind", "status", "index_case"]


class ContactViewSet(viewsets.ReadOnlyModelViewSet[Contact]):
    """Close and secondary contacts in the caller's jurisdiction (a grid worker: their grid)."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    def get_queryset(self) -> Any:
        return selectors.contacts_visible_to(self.request.user).order_by("-last_exposure_at", "-id")


def register(router: DefaultRouter) -> None:
    from firstline.tracing.clusters import api as clusters_api
    from firstline.tracing.venues import api as venues_api

    router.register("cases", CaseViewSet, basename="case")
    router.register("exposures", ExposureViewSet, basename="exposure")
    router.register("contacts", ContactViewSet, basename="contact")
    venues_api.register(router)
    clusters_api.register(router)
