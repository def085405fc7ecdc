"""How personal data is shown to a given user: full or masked, by permission."""

from __future__ import annotations

from typing import Any

from firstline.core import identity
from firstline.core.scoping import Scope, scope_of

# The permission that shows personal data unmasked (accounts.roles.Perm.PII_FULL names the same string).
PII_FULL_PERMISSION = "pii.view_full"

MASKERS = {"id_number": identity.mask_id_number, "phone": identity.mask_phone}


def sees_full_pii(user_or_scope: Any) -> bool:
    scope = user_or_scope if isinstance(user_or_scope, Scope) else scope_of(user_or_scope)
    return scope.has(PII_FULL_PERMISSION)


def shown(value: str, field: str, *, full: bool) -> str:
    """The value as this viewer may see it."""
    if full or not value:
        return value
    masker = MASKERS.get(field)
    return masker(value) if masker else value


def mask_changes(changes: dict[str, list[Any]], *, full: bool) -> dict[str, list[Any]]:
    """Audit before/after values with PII masked for viewers without full PII."""
    if full:
        return changes
    return {
        field: [shown(v, field, full=False) if isinstance(v, str) else v for v in pair]
        for field, pair in changes.items()
    }
