"""Crisis resources per country, loaded from data shipped in the package."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class CrisisResource:
    name: str
    how: str
    phone: str | None = None
    sms: str | None = None
    sms_body: str | None = None


@dataclass(frozen=True)
class CountryResources:
    country: str
    name: str
    headline: str
    emergency: str
    resources: tuple[CrisisResource, ...]


@cache
def all_crisis_resources() -> dict[str, CountryResources]:
    data = yaml.safe_load(resources.files(__package__).joinpath("crisis_resources.yaml").read_text("utf-8"))
    return {
        code: CountryResources(
            country=code,
            name=entry["name"],
            headline=entry["headline"],
            emergency=entry["emergency"],
            resources=tuple(CrisisResource(**r) for r in entry["resources"]),
        )
        for code, entry in data["countries"].items()
    }


def crisis_resources_for(country: str | None, default: str = "US") -> CountryResources:
    table = all_crisis_resources()
    return table.get((country or "").upper()) or table[default]
