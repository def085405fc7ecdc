from __future__ import annotations

from typing import Any

from django import template

from firstline.core.pii import sees_full_pii, shown

register = template.Library()


@register.simple_tag(takes_context=True)
def pii(context: dict[str, Any], value: str, field: str) -> str:
    """``{% pii person.phone "phone" %}``: the value, masked unless the viewer has full-PII permission."""
    scope = context.get("user_scope")
    full = sees_full_pii(scope) if scope is not None else sees_full_pii(context["request"].user)
    return shown(value or "", field, full=full)
