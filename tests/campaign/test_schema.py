"""The committed JSON Schema and docs stay in step with the models."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel

from bot.campaign import models
from bot.campaign.schema import DEFAULT_OUTPUT, campaign_schema, main, render_schema

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "campaigns.md"


def test_committed_schema_matches_the_models() -> None:
    committed = (ROOT / "docs" / "campaign.schema.json").read_text(encoding="utf-8")
    assert committed == render_schema(), "run: python -m bot.campaign.schema"
    assert DEFAULT_OUTPUT == ROOT / "docs" / "campaign.schema.json"


def test_schema_shape() -> None:
    schema = campaign_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"id", "title", "opens_at", "closes_at", "products"}
    product = schema["$defs"]["Product"]
    assert product["additionalProperties"] is False
    assert product["properties"]["stock"]["minimum"] == 0
    assert schema["properties"]["countdowns"]["default"] == ["T-10m", "T-5m", "T-1m"]
    assert schema["$defs"]["RedPacketBurst"]["properties"]["window"]["default"] == "60s"


def test_time_pattern_in_schema_accepts_what_the_parser_accepts() -> None:
    pattern = re.compile(campaign_schema()["$defs"]["PreheatPost"]["properties"]["at"]["pattern"])
    for good in ["T-10m", "T+30m", "T-1d2h", "C+1d", "T", "2026-12-05 20:00", "2026-12-05T20:00:00+08:00"]:
        assert pattern.match(good), good
    for bad in ["tomorrow", "10m"]:
        assert not pattern.match(bad), bad


def test_check_mode(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    assert main(["--output", str(target), "--check"]) == 1
    assert main(["--output", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["title"] == "Campaign"
    assert main(["--output", str(target), "--check"]) == 0


def test_docs_mention_every_field() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for name in dir(models):
        model = getattr(models, name)
        if isinstance(model, type) and issubclass(model, BaseModel) and not name.startswith("_"):
            for field in model.model_fields:
                assert f"`{field}`" in docs, f"docs/campaigns.md does not document {name}.{field}"


def test_the_annotated_example_is_the_shipped_sample() -> None:
    """docs/campaigns.md says its annotated example *is* data/campaigns/sample.yaml: keep it so."""
    docs = DOCS.read_text(encoding="utf-8")
    example = docs[docs.index("## Annotated example") :]
    block = example[example.index("```yaml\n") + len("```yaml\n") :]
    block = block[: block.index("\n```")]
    sample = (ROOT / "data" / "campaigns" / "sample.yaml").read_text(encoding="utf-8")
    assert block == sample.rstrip("\n")
