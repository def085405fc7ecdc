"""Date inputs carry ISO dates in every language (a browser's <input type="date"> accepts nothing else)."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import translation


class _Form(forms.Form):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


def test_a_date_input_renders_an_iso_date_in_chinese_and_english():
    for language in ("zh-hans", "en"):
        with translation.override(language):
            html = str(_Form(initial={"day": datetime.date(2026, 12, 1)})["day"])
            assert 'value="2026-12-01"' in html, (language, html)


def test_chinese_dates_typed_by_hand_are_still_accepted():
    with translation.override("zh-hans"):
        for typed in ("2026-12-01", "2026/12/01"):
            form = _Form(data={"day": typed})
            assert form.is_valid(), form.errors
            assert form.cleaned_data["day"] == datetime.date(2026, 12, 1)
