"""Reading ESConv-format JSON lines (``situation``, ``problem_type`` and ``dialog`` per line) for evaluation.

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
    #: The one-sentence ``situation``: a member's request, or the short form of a pool listener's story.
    text: str
    problem_type: str
    #: The class used to judge a match: the mapped tag, or the raw label for an unmapped one.
    label: str
    tag: str | None
    #: What the seeker wrote in the conversation (the ``usr`` turns of ``dialog``, in order). Only pool
    #: stories may use it (``--story-from situation+dialog``); requests are always ``text`` alone.
    seeker_turns: tuple[str, ...] = ()

    @property
    def seeker_words(self) -> str:
        """The seeker's turns as one text (empty when the line had no dialog)."""
        return " ".join(self.seeker_turns)


def _seeker_turns(dialog: object) -> tuple[str, ...]:
    if not isinstance(dialog, list):
        return ()
    turns = []
    for turn in dialog:
        if isinstance(turn, dict) and turn.get("speaker") == "usr":
            text = " ".join(str(turn.get("text") or "").split())
            if text:
                turns.append(text)
    return tuple(turns)


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
            situations.append(
                Situation(
                    text=text,
                    problem_type=problem_type,
                    label=label,
                    tag=tag,
                    seeker_turns=_seeker_turns(row.get("dialog")),
                )
            )
    return situations
