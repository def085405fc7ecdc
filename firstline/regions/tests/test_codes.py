"""Division codes and paths: the ancestors of a path and the township it lies in (one place for every app)."""

from __future__ import annotations

from firstline.regions.models import ancestor_codes, division_code, township_code


def test_ancestor_codes_of_a_grid_path_a_township_and_a_county():
    assert ancestor_codes("632701001001-G001") == ["63", "6327", "632701", "632701001", "632701001001"]
    assert ancestor_codes("632701001") == ["63", "6327", "632701", "632701001"]
    assert ancestor_codes("632701") == ["63", "6327", "632701"]


def test_township_code_is_empty_above_township_level():
    assert township_code("632701001001-G001-H0001") == "632701001"
    assert township_code("632701101") == "632701101"
    assert township_code("632701") == ""
    assert division_code("632701001001-G001") == "632701001001"
