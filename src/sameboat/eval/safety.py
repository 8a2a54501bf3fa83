"""Evaluation of the risk engine (``sameboat eval safety``) and the factory that wires it to the embedder.

Data files are read from paths given on the command line (the public SDCNL and Dreaddit CSVs, or any
file of the same shape); nothing from them is stored or shipped. The team-written chat set ships with
the package (``eval/data/safety_messages.yaml``).
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sameboat.domain.safety.risk import RecentContext, RiskAssessor, RiskConfig, RiskLevel, keyword_level

CHAT_SET_FILE = "data/safety_messages.yaml"
_PLACEHOLDERS = {"", "emptypost", "[removed]", "[deleted]", "nan", "none"}


def build_default_assessor(*, threads: int | None = None, config: RiskConfig | None = None) -> RiskAssessor:
    """The shipped engine: phrase layer + MiniLM similarity layer (the composition root's job in the app)."""
    from sameboat.adapters.embedding import MiniLMEmbedder, default_embedder

    embedder = default_embedder() if threads is None else MiniLMEmbedder(threads=threads)
    return RiskAssessor(embedder, config=config)


# --- data ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    text: str
    group: str  # "suicidewatch", "depression", "stress", "not-stress"

    @property
    def check_half(self) -> bool:
        """Half the posts (by a hash of the text) are never looked at while tuning: the "check" half."""
        return hashlib.sha1(self.text.encode("utf-8")).digest()[0] % 2 == 1


def _csv_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        return list(csv.DictReader(handle))


def _clean(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value.lower() in _PLACEHOLDERS else value


def read_sdcnl(path: Path) -> list[Post]:
    """SDCNL-format CSV: ``title``, ``selftext``, ``is_suicide`` (1 = r/SuicideWatch, 0 = r/depression).

    A post is its title and its body, as a member would write a subject line and then the story."""
    rows = _csv_rows(path)
    if rows and not {"selftext", "is_suicide"} <= set(rows[0]):
        raise ValueError(f"{path} has no selftext / is_suicide columns (is it an SDCNL-format file?)")
    posts = []
    for row in rows:
        text = "\n".join(part for part in (_clean(row.get("title")), _clean(row.get("selftext"))) if part)
        if text:
            posts.append(Post(text, "suicidewatch" if row["is_suicide"].strip() == "1" else "depression"))
    return posts


def read_dreaddit(path: Path) -> list[Post]:
    """Dreaddit-format CSV: ``text`` and ``label`` (1 = the annotators saw stress)."""
    rows = _csv_rows(path)
    if rows and "text" not in rows[0]:
        raise ValueError(f"{path} has no text column (is it a Dreaddit-format file?)")
    return [
        Post(_clean(row["text"]), "stress" if row.get("label", "1").strip() == "1" else "not-stress")
        for row in rows
        if _clean(row["text"])
    ]


@dataclass(frozen=True)
class ChatCase:
    """One line of the team-written chat set: the level of the last message must lie in [lowest, highest]."""

    messages: tuple[str, ...]
    category: str
    lowest: RiskLevel
    highest: RiskLevel
    #: "dev" (used while building the engine) or "holdout" (written later, scored once before any fix).
    set: str = "dev"

    def accepts(self, level: RiskLevel) -> bool:
        return self.lowest <= level <= self.highest

    @property
    def expected(self) -> str:
        if self.lowest == self.highest:
            return self.lowest.label
        if self.highest == RiskLevel.IMMINENT:
            return f">= {self.lowest.label}"
        if self.lowest == RiskLevel.NONE:
            return f"<= {self.highest.label}"
        return f"{self.lowest.label}..{self.highest.label}"


def parse_chat_cases(data: Any) -> list[ChatCase]:
    cases = []
    for index, entry in enumerate(data["cases"]):
        messages = tuple(entry["messages"]) if "messages" in entry else (entry["text"],)
        exact = entry.get("level")
        lowest = RiskLevel.parse(entry.get("min", exact or "none"))
        highest = RiskLevel.parse(entry.get("max", exact or "imminent"))
        if lowest > highest:
            raise ValueError(f"chat case {index}: min is above max")
        cases.append(ChatCase(messages, str(entry["category"]), lowest, highest, str(entry.get("set", "dev"))))
    return cases


def read_chat_set(path: Path | None = None) -> list[ChatCase]:
    if path is None:
        text = resources.files("sameboat.eval").joinpath(CHAT_SET_FILE).read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return parse_chat_cases(yaml.safe_load(text))


# --- detectors ------------------------------------------------------------------------------------------


@dataclass
class Detector:
    """A name and a way to give the level of the last of several messages (earlier ones are context)."""

    name: str
    level_of: Callable[[Sequence[str]], RiskLevel]
    version: str = ""


def engine_detector(assessor: RiskAssessor, name: str) -> Detector:
    def level_of(messages: Sequence[str]) -> RiskLevel:
        context = RecentContext()
        assessment = None
        for text in messages:
            assessment = assessor.assess(text, context)
            context = context.add(assessment)
        return assessment.level if assessment else RiskLevel.NONE

    return Detector(name, level_of, assessor.model_version)


def keyword_detector() -> Detector:
    # The baseline has no notion of context: it looks at the last message only.
    return Detector("keyword baseline", lambda messages: keyword_level(messages[-1]), "keywords-1")


# --- measuring ------------------------------------------------------------------------------------------


@dataclass
class PostScores:
    flagged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, group: str, flagged: bool) -> None:
        self.total[group] += 1
        self.flagged[group] += int(flagged)

    def share(self, group: str) -> float | None:
        total = self.total.get(group, 0)
        return self.flagged.get(group, 0) / total if total else None


def score_posts(
    posts: Sequence[Post], detector: Detector, *, jobs: int = 1, at_least: RiskLevel = RiskLevel.HIGH
) -> tuple[PostScores, PostScores, list[RiskLevel]]:
    """Share flagged at ``at_least`` per group, for all posts and for the check half; plus every level.

    Each post is one text (title and body): the engine reads it sentence by sentence, and signals from
    different sentences combine as they would across a member's messages. onnxruntime releases the GIL,
    so ``jobs`` threads use the cores; posts are independent, so the result does not depend on ``jobs``."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        levels = list(pool.map(lambda post: detector.level_of((post.text,)), posts, chunksize=16))
    everything, check = PostScores(), PostScores()
    for post, level in zip(posts, levels, strict=True):
        flagged = level >= at_least
        everything.add(post.group, flagged)
        if post.check_half:
            check.add(post.group, flagged)
    return everything, check, levels


@dataclass
class ChatScores:
    correct: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    misses: list[tuple[ChatCase, RiskLevel]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        total = sum(self.total.values())
        return sum(self.correct.values()) / total if total else 0.0

    def category_accuracy(self, category: str) -> float:
        return self.correct[category] / self.total[category] if self.total[category] else 0.0


def score_chat(cases: Iterable[ChatCase], detector: Detector) -> ChatScores:
    scores = ChatScores()
    for case in cases:
        level = detector.level_of(case.messages)
        scores.total[case.category] += 1
        if case.accepts(level):
            scores.correct[case.category] += 1
        else:
            scores.misses.append((case, level))
    return scores


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def format_post_table(rows: Sequence[tuple[str, PostScores]]) -> str:
    header = f"{'detector':<18} {'SW recall':>9} {'depr. flagged':>13} {'stress flagged':>14} {'all dreaddit':>12}"
    lines = [header, "-" * len(header)]
    for name, scores in rows:
        dreaddit = PostScores()
        for group in ("stress", "not-stress"):
            dreaddit.total["all"] += scores.total.get(group, 0)
            dreaddit.flagged["all"] += scores.flagged.get(group, 0)
        lines.append(
            f"{name:<18} {_pct(scores.share('suicidewatch')):>9} {_pct(scores.share('depression')):>13} "
            f"{_pct(scores.share('stress')):>14} {_pct(dreaddit.share('all')):>12}"
        )
    return "\n".join(lines)


def format_chat_table(cases: Sequence[ChatCase], rows: Sequence[tuple[str, ChatScores]]) -> str:
    categories = list(dict.fromkeys(case.category for case in cases))
    names = [name for name, _ in rows]
    header = f"{'category':<16} {'n':>4} " + " ".join(f"{n[:17]:>17}" for n in names)
    lines = [header, "-" * len(header)]
    for category in categories:
        n = rows[0][1].total[category]
        lines.append(f"{category:<16} {n:>4} " + " ".join(f"{s.category_accuracy(category):>17.3f}" for _, s in rows))
    total = sum(rows[0][1].total.values())
    lines.append(f"{'all':<16} {total:>4} " + " ".join(f"{s.accuracy:>17.3f}" for _, s in rows))
    return "\n".join(lines)
