"""REST API of frontline care: ``/care-requests/`` (list, file, retrieve, and the steps ``assign``, ``handle``,
``confirm``, ``reopen``, ``cancel``) and ``/frontline-workers/`` (the registry: list, flag).

Scoping as everywhere: a request the caller cannot see answers 404; a caller without the permission 403. A filer
who is not in the worker's jurisdiction sees the request they filed, but not the household or ID number.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from firstline.accounts.models import User, request_user
from firstline.accounts.roles import Perm
from firstline.community.care import selectors, services
from firstline.community.models import (
    OPEN_CARE_STATUSES,
    CareCategory,
    CareEvent,
    CareRequest,
    CareSource,
    CareStatus,
    CareUrgency,
    FrontlinePost,
    FrontlineWorker,
)
from firstline.core.api import FIELD_ERRORS, service_errors
from firstline.core.pii import sees_full_pii, shown
from firstline.core.scoping import require, scope_of
from firstline.people.selectors import person_get_for_user
from firstline.regions.models import Household

_FORBIDDEN = OpenApiResponse(description="The caller's role does not allow this.")
_NOT_FOUND = OpenApiResponse(description="No such record in the caller's view.")
_CONFLICT = OpenApiResponse(description="`version` is stale: someone else changed the request (`changes_since`).")


def _require_care(user: Any) -> None:
    scope = scope_of(user)
    if not (scope.has(Perm.CARE_FILE) or scope.has(Perm.CARE_HANDLE)):
        raise exceptions.PermissionDenied("Your role does not allow care requests.")


# -- care requests ----------------------------------------------------------------------------------------------


class CareWorkerSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    name = serializers.CharField()
    post_kind = serializers.ChoiceField(choices=FrontlinePost.choices)
    post = serializers.CharField()


class CareEventSerializer(serializers.ModelSerializer[CareEvent]):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = CareEvent
        fields = ["at", "kind", "actor", "note"]
        read_only_fields = fields

    def get_actor(self, event: CareEvent) -> str | None:
        return event.actor.username if event.actor else None


class CareRequestSerializer(serializers.ModelSerializer[CareRequest]):
    """A request as the caller may see it: the household and the ID number only for the township's handlers (and
    the household for the worker themself)."""

    worker = serializers.SerializerMethodField()
    person = serializers.SerializerMethodField()
    household = serializers.SerializerMethodField()
    division = serializers.SerializerMethodField()
    handler = serializers.SerializerMethodField()
    filed_by = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = CareRequest
        fields = [
            "id",
            "source",
            "worker",
            "person",
            "category",
            "urgency",
            "description",
            "household",
            "division",
            "status",
            "handler",
            "filed_by",
            "on_behalf",
            "due_at",
            "overdue",
            "action_taken",
            "handled_at",
            "closed_at",
            "reopened",
            "task",
            "actions",
            "version",
            "created_at",
        ]
        read_only_fields = fields

    def _access(self, care: CareRequest) -> selectors.CareAccess:
        cache: dict[int, selectors.CareAccess] = self.context.setdefault("access", {})
        if care.pk not in cache:
            cache[care.pk] = selectors.care_access(self.context["request"].user, care)
        return cache[care.pk]

    @extend_schema_field(CareWorkerSerializer(allow_null=True))
    def get_worker(self, care: CareRequest) -> dict[str, Any] | None:
        worker = care.worker
        if worker is None:
            return None
        return {"id": worker.pk, "name": care.person.name, "post_kind": worker.post_kind, "post": worker.post}

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "id_number": {"type": "string", "nullable": True, "description": "For the handlers only; masked."},
            },
        }
    )
    def get_person(self, care: CareRequest) -> dict[str, Any]:
        access = self._access(care)
        number = None
        if access.handles:
            number = shown(care.person.id_number, "id_number", full=self.context.get("full_pii", False))
        return {"id": care.person_id, "name": care.person.name, "id_number": number}

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "integer"}, "code": {"type": "string"}, "address": {"type": "string"}},
        }
    )
    def get_household(self, care: CareRequest) -> dict[str, Any] | None:
        if care.household is None or not self._access(care).sees_home:
            return None
        return {"id": care.household_id, "code": care.household.code, "address": care.household.address}

    @extend_schema_field({"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}})
    def get_division(self, care: CareRequest) -> dict[str, str]:
        return {"code": care.division_id, "name": care.division.name}

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "integer"}, "username": {"type": "string"}, "name": {"type": "string"}},
        }
    )
    def get_handler(self, care: CareRequest) -> dict[str, Any] | None:
        user = care.handler
        return {"id": user.pk, "username": user.username, "name": str(user)} if user else None

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "integer"}, "username": {"type": "string"}, "name": {"type": "string"}},
        }
    )
    def get_filed_by(self, care: CareRequest) -> dict[str, Any] | None:
        user = care.filed_by
        return {"id": user.pk, "username": user.username, "name": str(user)} if user else None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_overdue(self, care: CareRequest) -> bool:
        return selectors.is_overdue(care, self.context.get("now"))

    @extend_schema_field(
        {
            "type": "array",
            "items": {"type": "string", "enum": ["assign", "handle", "confirm", "reopen", "cancel"]},
            "description": "The steps the caller may take now.",
        }
    )
    def get_actions(self, care: CareRequest) -> list[str]:
        access = self._access(care)
        steps: list[str] = []
        if care.status in OPEN_CARE_STATUSES:
            if access.can_assign:
                steps.append("assign")
            if access.can_handle:
                steps.append("handle")
        if care.status == CareStatus.HANDLED and access.can_confirm:
            steps += ["confirm", "reopen"]
        if care.status not in (CareStatus.CLOSED, CareStatus.CANCELLED) and access.can_cancel:
            steps.append("cancel")
        return steps


class CareRequestDetailSerializer(CareRequestSerializer):
    events = CareEventSerializer(many=True, read_only=True)

    class Meta(CareRequestSerializer.Meta):
        fields = [*CareRequestSerializer.Meta.fields, "events"]
        read_only_fields = fields


class CareFileSerializer(serializers.Serializer):  # type: ignore[type-arg]
    worker = serializers.IntegerField(
        required=False, allow_null=True, help_text="A frontline worker the caller can see. Omit to file for oneself."
    )
    worker_key = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=40,
        help_text="Or the worker's exact account name or ID number (a colleague whose home is elsewhere).",
    )
    category = serializers.ChoiceField(choices=CareCategory.choices)
    urgency = serializers.ChoiceField(choices=CareUrgency.choices, default=CareUrgency.NORMAL)
    description = serializers.CharField(max_length=services.DESCRIPTION_MAX)
    household = serializers.IntegerField(
        required=False, allow_null=True, help_text="A household id; default: the worker's own household."
    )


class _StepSerializer(serializers.Serializer):  # type: ignore[type-arg]
    version = serializers.IntegerField(help_text="The version the caller saw (optimistic locking).")


class AssignSerializer(_StepSerializer):
    handler = serializers.IntegerField(help_text="User id of the handler: someone with a role in the township.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=services.NOTE_MAX)


class HandleSerializer(_StepSerializer):
    action_taken = serializers.CharField(max_length=services.DESCRIPTION_MAX)


class ConfirmSerializer(_StepSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=services.NOTE_MAX)


class ReasonSerializer(_StepSerializer):
    reason = serializers.CharField(max_length=services.NOTE_MAX)


class CareRequestFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=[("active", "active"), ("overdue", "overdue"), *CareStatus.choices], method="filter_status"
    )
    category = filters.ChoiceFilter(choices=CareCategory.choices)
    urgency = filters.TypedChoiceFilter(choices=CareUrgency.choices, coerce=int)
    source = filters.ChoiceFilter(choices=CareSource.choices)
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", help_text="A division code prefix.")
    mine = filters.BooleanFilter(method="filter_mine", help_text="Only requests the caller filed or is the subject of.")

    class Meta:
        model = CareRequest
        fields = ["status", "category", "urgency", "source", "division", "mine"]

    def filter_status(self, queryset: QuerySet[CareRequest], name: str, value: str) -> QuerySet[CareRequest]:
        if value == "active":
            return queryset.filter(status__in=selectors.ACTIVE_CARE_STATUSES)
        if value == "overdue":
            return queryset.filter(status__in=OPEN_CARE_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(status=value)

    def filter_mine(self, queryset: QuerySet[CareRequest], name: str, value: bool) -> QuerySet[CareRequest]:
        if not value:
            return queryset
        user_id = scope_of(self.request.user).user_id
        return queryset.filter(Q(filed_by_id=user_id) | Q(worker__user_id=user_id))


_STEP_RESPONSES = {
    200: CareRequestDetailSerializer,
    400: FIELD_ERRORS,
    403: _FORBIDDEN,
    404: _NOT_FOUND,
    409: _CONFLICT,
}


class CareRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[CareRequest]
):
    """Care requests the caller can see: of their jurisdiction, filed by them, about them, or handled by them
    (oldest first). POST files one (``care.file``): for oneself, for a worker by id, or by ``worker_key``. Each
    step takes the ``version`` the caller saw."""

    filterset_class = CareRequestFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return CareRequest.objects.none()
        _require_care(self.request.user)
        return selectors.care_visible_to(self.request.user).order_by("created_at", "id")

    def get_serializer_class(self) -> Any:
        return CareRequestDetailSerializer if self.action != "list" else CareRequestSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["full_pii"] = sees_full_pii(self.request.user)
        context["now"] = timezone.now()
        return context

    def _care(self, pk: Any) -> CareRequest:
        _require_care(self.request.user)
        return selectors.care_get_for_user(self.request.user, pk)

    def _answer(self, care: CareRequest, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.care_visible_to(self.request.user).prefetch_related("events__actor").get(pk=care.pk)
        return Response(CareRequestDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(self._care(kwargs["pk"]))

    @extend_schema(
        request=CareFileSerializer, responses={201: CareRequestDetailSerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, Perm.CARE_FILE)
        serializer = CareFileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        worker = None
        if data.get("worker") is not None:
            worker = FrontlineWorker.objects.select_related("person").filter(pk=data["worker"]).first()
            if worker is None:
                raise exceptions.ValidationError({"worker": [str(services.WORKER_NOT_PICKABLE)]})
        household = None
        if data.get("household") is not None:
            household = Household.objects.filter(pk=data["household"]).first()
            if household is None:
                raise exceptions.ValidationError({"household": [str(services.HOUSEHOLD_NOT_PICKABLE)]})
        try:
            care = services.care_request_file(
                actor=request_user(request),
                worker=worker,
                worker_key=data.get("worker_key", ""),
                category=data["category"],
                urgency=int(data["urgency"]),
                description=data["description"],
                household=household,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return self._answer(care, status.HTTP_201_CREATED)

    def _step(self, request: Request, pk: Any, serializer_class: type[_StepSerializer], run: Any) -> Response:
        care = self._care(pk)
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            care = run(request_user(request), care, serializer.validated_data)
        except DjangoValidationError as error:
            raise service_errors(error) from error
        return self._answer(care)

    @extend_schema(request=AssignSerializer, responses=_STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Give the request to a handler in the township (``care.handle``): the task moves to them."""

        def run(actor: User, care: CareRequest, data: dict[str, Any]) -> CareRequest:
            handler = User.objects.filter(pk=data["handler"], is_active=True).first()
            if handler is None:
                raise DjangoValidationError({"handler": [str(services.HANDLER_NOT_PICKABLE)]})
            return services.care_request_assign(
                actor=actor, care=care, handler=handler, expected_version=data["version"], note=data["note"]
            )

        return self._step(request, pk, AssignSerializer, run)

    @extend_schema(request=HandleSerializer, responses=_STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def handle(self, request: Request, pk: str | None = None) -> Response:
        """Record what was done (the handler, or the township's handlers): awaiting the requester's confirmation."""
        return self._step(
            request,
            pk,
            HandleSerializer,
            lambda actor, care, data: services.care_request_handle(
                actor=actor, care=care, expected_version=data["version"], action_taken=data["action_taken"]
            ),
        )

    @extend_schema(request=ConfirmSerializer, responses=_STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        """The requester (the worker, or whoever filed it) confirms: closed."""
        return self._step(
            request,
            pk,
            ConfirmSerializer,
            lambda actor, care, data: services.care_request_confirm(
                actor=actor, care=care, expected_version=data["version"], note=data["note"]
            ),
        )

    @extend_schema(request=ReasonSerializer, responses=_STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """The requester reopens a handled request with a reason: back to the handler with a new due time."""
        return self._step(
            request,
            pk,
            ReasonSerializer,
            lambda actor, care, data: services.care_request_reopen(
                actor=actor, care=care, expected_version=data["version"], reason=data["reason"]
            ),
        )

    @extend_schema(request=ReasonSerializer, responses=_STEP_RESPONSES)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw (the requester) or cancel (the township's handlers) with a reason."""
        return self._step(
            request,
            pk,
            ReasonSerializer,
            lambda actor, care, data: services.care_request_cancel(
                actor=actor, care=care, expected_version=data["version"], reason=data["reason"]
            ),
        )


# -- frontline registry -----------------------------------------------------------------------------------------


class FrontlineWorkerSerializer(serializers.ModelSerializer[FrontlineWorker]):
    person = serializers.SerializerMethodField()
    account = serializers.SerializerMethodField()

    class Meta:
        model = FrontlineWorker
        fields = [
            "id",
            "person",
            "account",
            "post_kind",
            "post",
            "organisation",
            "since",
            "active",
            "path",
            "version",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "id_number": {"type": "string", "description": "Masked unless the caller sees full personal data."},
            },
        }
    )
    def get_person(self, worker: FrontlineWorker) -> dict[str, Any]:
        full = self.context.get("full_pii", False)
        return {
            "id": worker.person_id,
            "name": worker.person.name,
            "id_number": shown(worker.person.id_number, "id_number", full=full),
        }

    @extend_schema_field(OpenApiTypes.STR)
    def get_account(self, worker: FrontlineWorker) -> str | None:
        return worker.user.username if worker.user else None


class FrontlineWorkerCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    person = serializers.IntegerField(help_text="A person in the caller's jurisdiction.")
    post_kind = serializers.ChoiceField(choices=FrontlinePost.choices)
    post = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    organisation = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    since = serializers.DateField(required=False, allow_null=True, default=None)
    active = serializers.BooleanField(required=False, default=True)
    account = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=150, help_text="Login name of their account."
    )


class FrontlineWorkerFilter(filters.FilterSet):
    post_kind = filters.ChoiceFilter(choices=FrontlinePost.choices)
    active = filters.BooleanFilter()
    division = filters.CharFilter(field_name="path", lookup_expr="startswith", help_text="A division code prefix.")

    class Meta:
        model = FrontlineWorker
        fields = ["post_kind", "active", "division"]


class FrontlineWorkerViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[FrontlineWorker]):
    """The frontline registry of the caller's jurisdiction (``frontline.manage``). POST flags a person."""

    serializer_class = FrontlineWorkerSerializer
    filterset_class = FrontlineWorkerFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return FrontlineWorker.objects.none()
        require(self.request.user, Perm.FRONTLINE_MANAGE)
        return selectors.workers_visible_to(self.request.user).order_by("-active", "path", "id")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["full_pii"] = sees_full_pii(self.request.user)
        return context

    @extend_schema(
        request=FrontlineWorkerCreateSerializer,
        responses={201: FrontlineWorkerSerializer, 400: FIELD_ERRORS, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require(request.user, Perm.FRONTLINE_MANAGE)
        serializer = FrontlineWorkerCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        person = person_get_for_user(request.user, data["person"])
        account = None
        if data["account"].strip():
            account = User.objects.filter(username=data["account"].strip(), is_active=True).first()
            if account is None:
                raise exceptions.ValidationError({"account": ["No active account has this login name."]})
        try:
            worker = services.frontline_worker_create(
                actor=request_user(request),
                person=person,
                post_kind=data["post_kind"],
                post=data["post"],
                organisation=data["organisation"],
                since=data["since"],
                active=data["active"],
                user=account,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from error
        worker = selectors.workers_visible_to(request.user).get(pk=worker.pk)
        return Response(
            FrontlineWorkerSerializer(worker, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


def register(router: DefaultRouter) -> None:
    """Called from firstline.community.api.register."""
    router.register("care-requests", CareRequestViewSet, basename="care-request")
    router.register("frontline-workers", FrontlineWorkerViewSet, basename="frontline-worker")
