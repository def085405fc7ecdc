from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, []) if mapping else []


@register.simple_tag
def get_count(counts: dict[str, dict[str, int]], code: str, key: str) -> int:
    return counts.get(code, {}).get(key, 0)


@register.simple_tag
def counts_badges(counts: dict[str, dict[str, int]], code: str, counters: list[Any]) -> str:
    values = counts.get(code, {})
    return format_html_join(
        " ",
        '<span class="badge text-bg-light" title="{}" data-count="{}">{}</span>',
        ((c.label, c.key, values.get(c.key, 0)) for c in counters),
    ) or format_html("")
