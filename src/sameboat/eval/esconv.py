"""Reading ESConv-format JSON lines (``situation`` and ``problem_type`` per line) for evaluation.

The data itself is never part of the package (research-only licence); commands take a path to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: ESConv ``problem_type`` → Sameboat taxonomy tag. The two parent-conflict labels are one class.
PROBLEM_TYPE_TAGS: dict[str, str] = {
    "ongoing depression": "depression",
    "job crisis": "job-loss",
    "breakup with partner": "breakup",
    "problems with friends": "friendship-problems",
    "academic pressure": "academic-pressure",
    "sleep problems": "sleep-problems",
    "conflict with parents": "issues-with-parents",
    "issues with parents": "issues-with-parents",
    "issues with children": "issues-with-children",
    "appearance anxiety": "body-image",
    "alcohol abuse": "alcohol",
    "procrastination": "procrastination",
    "school bullying": "bullying",
}


@dataclass(frozen=True)
class Situation:
    text: str
    problem_type: str
    #: The class used to judge a match: the mapped tag, or the raw label for an unmapped one.
    label: str
    tag: str | None


def label_for(problem_type: str) -> tuple[str, str | None]:
    key = " ".join(problem_type.lower().split())
    tag = PROBLEM_TYPE_TAGS.get(key)
    return (tag or key), tag


def read_situations(path: Path) -> list[Situation]:
    """Every line with a non-empty ``situation``; other lines are skipped."""
    situations: list[Situation] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            text = (row.get("situation") or "").strip()
            problem_type = (row.get("problem_type") or "").strip()
            if not text or not problem_type:
                continue
            label, tag = label_for(problem_type)
            situations.append(Situation(text=text, problem_type=problem_type, label=label, tag=tag))
    return situations
