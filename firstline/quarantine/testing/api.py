"""REST API of testing: samplings and their results, results pushed by a lab system, lab lists imported.

``/samplings/`` lists the caller's samplings (filters: ``status``, ``result`` — ``pending`` for taken without a
result —, ``facility``, ``grid`` (code), ``day``, ``due`` (the day's list: due that day or still not taken),
``overdue``, ``person``); ``POST /samplings/`` records one (a scheduled ``sampling`` id, or a ``person`` id for a
sampling on that day / an unscheduled one) with ``sampled_at`` and ``tube_code``; ``POST /samplings/{id}/result/``
enters its result. ``POST /results/`` is a lab system's result for an ID number and sampling time (+ tube);
``POST /results/import/`` uploads a lab list (multipart ``file``, ``dry_run``) and answers the import job, whose
progress and summary are at ``/imports/{id}/``. Scoped like the pages: out of scope 404, a missing permission 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from firstline.accounts.models import request_user
from firstline.accounts.roles import Perm
from firstline.core.api import FIELD_ERRORS, service_errors
from firstline.core.pii import sees_full_pii
from firstline.core.scoping import require
from firstline.people.models import IdType
from firstline.quarantine.models import Sampling, SamplingStatus, TestResult
from firstline.quarantine.testing import results_import, selectors, services
from firstline.regions.models import Grid
from firstline.screening.imports import services as imports
from firstline.screening.models import ImportKind, ImportMode
from firstline.tracing.selectors import person_payload

_FORBIDDEN = OpenApiResponse(description="The caller's roles do not allow this.")
_NOT_FOUND = OpenApiResponse(description="No such sampling in the caller's jurisdiction.")
_RESULTS = [(value, label) for value, label in TestResult.choices if value]


class SamplingSerializer(serializers.ModelSerializer[Sampling]):
    person = serializers.SerializerMethodField()
    sampler: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Sampling
        fields = [
            "id",
            "person",
            "placement",
            "facility",
            "team",
            "path",
            "due_date",
            "status",
            "sampled_at",
            "sampler",
            "sampler_name",
            "tube_code",
            "result",
            "result_at",
            "lab",
            "result_source",
            "import_job",
            "case",
            "note",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_person(self, sampling: Sampling) -> dict[str, Any]:
        return person_payload(sampling.person, full=sees_full_pii(self.context["request"].user))


class SamplingResultAnswerSerializer(SamplingSerializer):
    notice = serializers.SerializerMethodField(help_text="What the user should know (a case that stays open …).")

    class Meta(SamplingSerializer.Meta):
        fields = [*SamplingSerializer.Meta.fields, "notice"]
        read_only_fields = fields

    def get_notice(self, sampling: Sampling) -> str:
        return str(self.context.get("notice", ""))


class SamplingRecordSerializer(serializers.Serializer[Any]):
    sampling = serializers.IntegerField(required=False, help_text="A scheduled sampling's id.")
    person = serializers.IntegerField(required=False, help_text="Or a person's id (their sampling of that day).")
    sampled_at = serializers.DateTimeField()
    tube_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    sampler_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("sampling" in attrs) == ("person" in attrs):
            raise serializers.ValidationError({"sampling": ["Give the scheduled sampling or the person, not both."]})
        return attrs


class ResultEntrySerializer(serializers.Serializer[Any]):
    result = serializers.ChoiceField(choices=_RESULTS)
    lab = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    result_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ResultPushSerializer(serializers.Serializer[Any]):
    id_type = serializers.ChoiceField(choices=IdType.choices, default=IdType.RESIDENT)
    id_number = serializers.CharField(max_length=40)
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    sampled_at = serializers.DateTimeField()
    tube_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    result = serializers.ChoiceField(choices=_RESULTS)
    lab = serializers.CharField(max_length=100)
    result_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ResultImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=True)
    mode = serializers.ChoiceField(choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)


_IMPORT_ANSWER = inline_serializer(
    "LabImportAnswer",
    {
        "id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "status_url": serializers.URLField(),
        "mapping": serializers.DictField(child=serializers.IntegerField()),
    },
)


class SamplingFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=SamplingStatus.choices)
    result = filters.ChoiceFilter(
        choices=[(selectors.PENDING, "taken, awaiting result"), *_RESULTS], method="filter_result"
    )
    facility = filters.NumberFilter(field_name="facility_id")
    person = filters.NumberFilter(field_name="person_id")
    grid = filters.CharFilter(method="filter_grid", help_text="Grid code: its home placements and unplaced residents.")
    day = filters.DateFilter(method="filter_day", help_text="Due that day, or taken that day when unscheduled.")
    due = filters.DateFilter(method="filter_due", help_text="The day's list: due that day, or earlier and not taken.")
    overdue = filters.BooleanFilter(method="filter_overdue", help_text="Scheduled and past due, or missed.")

    class Meta:
        model = Sampling
        fields = ["status", "result", "facility", "person"]

    def filter_result(self, queryset: Any, name: str, value: str) -> Any:
        if value == selectors.PENDING:
            return queryset.filter(status=SamplingStatus.SAMPLED, result="")
        return queryset.filter(result=value)

    def filter_grid(self, queryset: Any, name: str, value: str) -> Any:
        grid = Grid.objects.visible_to(self.request.user).filter(code=value).first()
        return queryset.filter(selectors.grid_q(grid)) if grid is not None else queryset.none()

    def filter_day(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset.filter(selectors.day_q(value))

    def filter_due(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset.filter(selectors.due_q(value))

    def filter_overdue(self, queryset: Any, name: str, value: bool) -> Any:
        condition = selectors.overdue_q(timezone.localdate())
        return queryset.filter(condition) if value else queryset.exclude(condition)


class SamplingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Sampling]):
    """Samplings the caller may see; record one (POST) or enter its result (``POST {id}/result/``)."""

    serializer_class = SamplingSerializer
    filterset_class = SamplingFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no user
            return Sampling.objects.none()
        require(self.request.user, Perm.PERSON_VIEW)
        return selectors.samplings_visible_to(self.request.user).order_by("due_date", "sampled_at", "id")

    def get_object(self) -> Sampling:
        require(self.request.user, Perm.PERSON_VIEW)
        return selectors.sampling_get_for_user(self.request.user, self.kwargs["pk"])

    def _answer(self, sampling: Sampling, code: int, *, notice: str = "") -> Response:
        sampling = selectors.sampling_get_for_user(self.request.user, sampling.pk)
        context = {**self.get_serializer_context(), "notice": notice}
        return Response(SamplingResultAnswerSerializer(sampling, context=context).data, status=code)

    @extend_schema(
        request=SamplingRecordSerializer,
        responses={
            200: SamplingResultAnswerSerializer,
            201: SamplingResultAnswerSerializer,
            400: FIELD_ERRORS,
            403: _FORBIDDEN,
            404: _NOT_FOUND,
        },
    )
    def create(self, request: Request) -> Response:
        """Record a sampling as taken: 200 for a scheduled one, 201 when an unscheduled one is added."""
        require(request.user, Perm.SAMPLING_RECORD)
        data = SamplingRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        sampling_id = values.pop("sampling", None)
        sampling = selectors.sampling_get_for_user(request.user, sampling_id) if sampling_id else None
        try:
            recorded = services.sampling_record(actor=request_user(request), sampling=sampling, **values)
        except DjangoValidationError as error:
            raise service_errors(error) from error
        created = sampling is None and recorded.due_date is None and recorded.version == 1
        return self._answer(recorded, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        request=ResultEntrySerializer,
        responses={200: SamplingResultAnswerSerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def result(self, request: Request, pk: str | None = None) -> Response:
        """Enter (or correct) the result; a positive makes a suspected case and alerts the CDC."""
        sampling = self.get_object()
        require(request.user, Perm.RESULT_ENTER)
        data = ResultEntrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        previous = sampling.result
        try:
            sampling = services.result_enter(actor=request_user(request), sampling=sampling, **data.validated_data)
        except DjangoValidationError as error:
            raise service_errors(error) from error
        notice = ""
        if previous == TestResult.POSITIVE and sampling.result != previous and sampling.case_id:
            notice = _("The suspected case stays open: the CDC excludes it on the case page.")
        return self._answer(sampling, status.HTTP_200_OK, notice=notice)


class ResultViewSet(viewsets.GenericViewSet[Sampling]):
    """Results from lab systems: one by ID number and sampling time, or a whole list as an import job."""

    serializer_class = SamplingSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> Any:
        return selectors.samplings_visible_to(self.request.user)

    @extend_schema(
        request=ResultPushSerializer,
        responses={200: SamplingSerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        """One result: matched to the person's sampling by tube, else that day's; an unscheduled one otherwise."""
        require(request.user, Perm.RESULT_ENTER)
        data = ResultPushSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            sampling = services.result_push(actor=request_user(request), **data.validated_data)
        except DjangoValidationError as error:
            raise service_errors(error) from error
        sampling = selectors.sampling_get_for_user(request.user, sampling.pk)
        return Response(SamplingSerializer(sampling, context=self.get_serializer_context()).data)

    @extend_schema(
        request={"multipart/form-data": ResultImportSerializer},
        responses={202: _IMPORT_ANSWER, 400: FIELD_ERRORS, 403: _FORBIDDEN},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_list(self, request: Request) -> Response:
        """Upload a lab list and run its check (``dry_run``, the default) or its import; the answer names the job
        and where to follow it (``/imports/{id}/``: progress, summary, row errors)."""
        require(request.user, Perm.RESULT_ENTER)
        results_import.register()
        data = ResultImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = request_user(request)
        try:
            job = imports.import_upload(actor=actor, upload=data.validated_data["file"], kind=ImportKind.LAB_RESULTS)
        except DjangoValidationError as error:
            raise service_errors(error) from error
        status_url = request.build_absolute_uri(reverse("import-detail", args=[job.pk]))
        try:
            job = imports.import_start(
                actor=actor, job=job, dry_run=data.validated_data["dry_run"], mode=data.validated_data["mode"]
            )
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
            raise exceptions.ValidationError({**detail, "job": [str(job.pk)], "status_url": [status_url]}) from error
        job.refresh_from_db()
        body = {"id": job.pk, "status": job.status, "status_url": status_url, "mapping": job.mapping}
        return Response(body, status=status.HTTP_202_ACCEPTED)


def register(router: BaseRouter) -> None:
    """Called from firstline.quarantine.api.register."""
    results_import.register()
    router.register("samplings", SamplingViewSet, basename="sampling")
    router.register("results", ResultViewSet, basename="result")
