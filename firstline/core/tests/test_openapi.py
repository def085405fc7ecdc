"""The OpenAPI schema generates, validates, and has no warnings (an unresolved field, an unnamed enum …)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS


def test_schema_validates_without_warnings(tmp_path: Path) -> None:
    # The warning counts are process-wide: start from none, whatever ran before in this process.
    GENERATOR_STATS.reset()
    out = tmp_path / "schema.json"
    # --fail-on-warn raises SchemaGenerationError (a CommandError) on any warning or error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    assert not GENERATOR_STATS
    schema = json.loads(out.read_text(encoding="utf-8"))
    assert schema["paths"]
