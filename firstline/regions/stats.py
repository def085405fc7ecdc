"""Counts per division for the division tree, by one grouped query per code length.

Higher apps register counters for their own models (people: persons), so regions never imports them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import Substr
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from firstline.regions.models import Grid, Household


@dataclass(frozen=True)
class Counter:
    key: str
    label: str | Promise
    queryset: Callable[[Any], QuerySet[Any]]  # user → the visible rows to count (each has a ``path``)


_counters: dict[str, Counter] = {}


def register_counter(counter: Counter) -> None:
    _counters[counter.key] = counter


def counters() -> list[Counter]:
    return list(_counters.values())


def division_counts(*, user: Any, codes: Iterable[str]) -> dict[str, dict[str, int]]:
    """{division code: {counter key: rows under it visible to the user}}."""
    codes = list(codes)
    result: dict[str, dict[str, int]] = defaultdict(lambda: {c.key: 0 for c in _counters.values()})
    by_length: dict[int, set[str]] = defaultdict(set)
    for code in codes:
        by_length[len(code)].add(code)
    for counter in _counters.values():
        for length, wanted in by_length.items():
            rows = (
                counter.queryset(user)
                .annotate(prefix=Substr("path", 1, length))
                .filter(prefix__in=wanted)
                .values("prefix")
                .annotate(n=Count("pk"))
                .order_by()
            )
            for row in rows:
                result[row["prefix"]][counter.key] = row["n"]
    return {code: dict(result[code]) for code in codes}


register_counter(Counter("grids", _("grids"), lambda user: Grid.objects.visible_to(user)))
register_counter(Counter("households", _("households"), lambda user: Household.objects.visible_to(user)))
