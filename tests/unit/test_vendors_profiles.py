"""The Hikvision and Dahua device profiles fit the sources' configuration models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from edge.camcount.config import DahuaCountingSource, HikvisionCountingSource
from edge.dahua.config import DahuaSource
from edge.hikvision.config import HikvisionSource

PROFILES = Path(__file__).resolve().parents[2] / "hardware" / "profiles"
MODELS: dict[str, type[BaseModel]] = {"hikvision-isapi": HikvisionSource, "dahua": DahuaSource,
                                      "hikvision-counting": HikvisionCountingSource,
                                      "dahua-counting": DahuaCountingSource}
DOORS = ("hikvision-isapi", "dahua")
FILES = sorted([*PROFILES.glob("hikvision-*.yaml"), *PROFILES.glob("dahua-*.yaml")])


def test_there_are_profiles_for_both_vendors() -> None:
    vendors = {yaml.safe_load(path.read_text())["vendor"] for path in FILES}
    assert vendors == {"hikvision", "dahua"} and len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_a_profile_makes_a_valid_source(path: Path) -> None:
    profile: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(profile) <= {"family", "vendor", "models", "protocol", "defaults", "codes",
                            "notes"}
    assert profile["family"] == path.stem and profile["models"] and profile["notes"].strip()
    model = MODELS[profile["protocol"]]
    assert "type" not in profile["defaults"] and "device" not in profile["defaults"]
    values = {"device": "probe", "host": "192.0.2.1", **profile["defaults"]}
    if profile.get("codes"):
        values["codes"] = profile["codes"]
    source = model.model_validate(values)
    if profile["protocol"] in DOORS:  # every door family says which reader is which way
        assert source.model_dump()["readers"]
    else:  # a counting camera states the direction itself
        assert source.model_dump()["confidence"] == 1.0
