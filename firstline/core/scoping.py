"""The jurisdiction spine: the one place that decides which rows a user may see.

Every jurisdiction-bearing model's queryset is a ``ScopedQuerySet`` and is read through ``visible_to(user)``.
A user's ``Scope`` (computed by the accounts app from memberships) lists division/grid path prefixes and
departments. Higher apps may widen a lower model's visibility (e.g. dispatch: a police officer sees the person
a task for the police names) by registering an extension here, so lower apps never import higher ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    paths: tuple[str, ...] = ()
    grid_codes: tuple[str, ...] = ()
    department_ids: tuple[int, ...] = ()
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    membership_ids: tuple[int, ...] = field(default=())

    def has(self, permission: str) -> bool:
        return permission in self.permissions

    def covers_path(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.paths)


EMPTY_SCOPE = Scope(user_id=None)


class HasScope(Protocol):
    @property
    def scope(self) -> Scope: ...


def scope_of(user: Any) -> Scope:
    """The user's scope; anonymous or inactive users see nothing."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return EMPTY_SCOPE
    return user.scope  # type: ignore[no-any-return]


def minimal_prefixes(paths: Iterable[str]) -> tuple[str, ...]:
    """Drop paths already covered by a shorter prefix, so the SQL has as few OR branches as possible."""
    result: list[str] = []
    for path in sorted(set(p for p in paths if p), key=len):
        if not any(path.startswith(prefix) for prefix in result):
            result.append(path)
    return tuple(sorted(result))


VisibilityExtension = Callable[[Scope], Q | None]
_extensions: dict[type[models.Model], list[VisibilityExtension]] = defaultdict(list)


def register_visibility(model: type[models.Model], extension: VisibilityExtension) -> None:
    """Let a higher app widen what ``model.objects.visible_to`` returns (called from AppConfig.ready)."""
    if extension not in _extensions[model]:
        _extensions[model].append(extension)


_M = TypeVar("_M", bound=models.Model)


class ScopedQuerySet(models.QuerySet[_M], Generic[_M]):
    """QuerySet with ``visible_to(user)``. Models name their path field in ``scope_path_field``."""

    def visibility_q(self, scope: Scope) -> Q | None:
        path_field = getattr(self.model, "scope_path_field", "path")
        condition: Q | None = None
        for prefix in scope.paths:
            branch = Q(**{f"{path_field}__startswith": prefix})
            condition = branch if condition is None else condition | branch
        for extension in _extensions.get(self.model, ()):
            extra = extension(scope)
            if extra is not None:
                condition = extra if condition is None else condition | extra
        return condition

    def visible_to(self, user: AnonymousUser | Any) -> Self:
        condition = self.visibility_q(scope_of(user))
        if condition is None:
            return self.none()
        return self.filter(condition)


def require(user: Any, permission: str) -> None:
    """Raise PermissionDenied unless the user's roles grant ``permission`` (views and services alike)."""
    from django.core.exceptions import PermissionDenied

    if not scope_of(user).has(permission):
        raise PermissionDenied(permission)
