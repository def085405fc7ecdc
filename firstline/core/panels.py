"""Sections that higher apps add to a lower app's record page (tasks on the person page, later arrivals,
measures, cases, placements), so the lower app never imports them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.functional import Promise


@dataclass(frozen=True)
class Panel:
    key: str
    title: str | Promise
    template: str
    context: Callable[[HttpRequest, Any], dict[str, Any]]  # request, record → template context
    order: int = 100


_panels: dict[type[models.Model], list[Panel]] = defaultdict(list)


def register_panel(model: type[models.Model], panel: Panel) -> None:
    if all(p.key != panel.key for p in _panels[model]):
        _panels[model].append(panel)
        _panels[model].sort(key=lambda p: (p.order, p.key))


def render_panels(request: HttpRequest, record: models.Model) -> list[tuple[Panel, str]]:
    return [
        (panel, render_to_string(panel.template, panel.context(request, record), request=request))
        for panel in _panels.get(type(record), [])
    ]
