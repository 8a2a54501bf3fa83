"""``sameboat eval safety`` on tiny files of the public formats, written here (no real data)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from sameboat.domain.safety.risk import RiskAssessor
from sameboat.eval.safety import engine_detector, keyword_detector, read_dreaddit, read_sdcnl, score_posts

SDCNL_ROWS = [
    {"title": "can't do this", "selftext": "I want to kill myself tonight.", "is_suicide": "1"},
    {"title": "tired", "selftext": "Nothing helps and I hate my job.", "is_suicide": "1"},
    {"title": "sad lately", "selftext": "I feel low every morning.", "is_suicide": "0"},
    {"title": "", "selftext": "emptypost", "is_suicide": "0"},  # placeholder: skipped
]
DREADDIT_ROWS = [
    {"subreddit": "stress", "text": "My exams are killing me, so much stress.", "label": "1"},
    {"subreddit": "anxiety", "text": "I had a panic attack and felt like I was dying.", "label": "1"},
    {"subreddit": "relationships", "text": "We argued about money again.", "label": "0"},
]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return _write(tmp_path / "sdcnl.csv", SDCNL_ROWS), _write(tmp_path / "dreaddit.csv", DREADDIT_ROWS)


def test_readers_take_title_and_body_and_skip_placeholders(files: tuple[Path, Path]) -> None:
    sdcnl, dreaddit = files
    posts = read_sdcnl(sdcnl)
    assert [p.group for p in posts] == ["suicidewatch", "suicidewatch", "depression"]
    assert posts[0].text == "can't do this\nI want to kill myself tonight."
    assert [p.group for p in read_dreaddit(dreaddit)] == ["stress", "stress", "not-stress"]


def test_a_file_of_the_wrong_shape_is_refused(files: tuple[Path, Path]) -> None:
    sdcnl, dreaddit = files
    with pytest.raises(ValueError, match="SDCNL"):
        read_sdcnl(dreaddit)
    with pytest.raises(ValueError, match="Dreaddit"):
        read_dreaddit(_write(sdcnl.parent / "other.csv", [{"body": "x"}]))


def test_scores_per_group(files: tuple[Path, Path], phrases_only: RiskAssessor) -> None:
    sdcnl, dreaddit = files
    posts = read_sdcnl(sdcnl) + read_dreaddit(dreaddit)
    everything, _, levels = score_posts(posts, engine_detector(phrases_only, "phrases"), jobs=2)
    assert everything.share("suicidewatch") == 0.5
    assert everything.share("stress") == 0.0
    assert len(levels) == len(posts)
    keywords, _, _ = score_posts(posts, keyword_detector())
    assert keywords.share("suicidewatch") == 0.5


def test_command_prints_both_detectors_and_the_chat_table(files: tuple[Path, Path], tmp_path: Path) -> None:
    from sameboat.eval.safety_cli import safety_command

    sdcnl, dreaddit = files
    chat = tmp_path / "chat.yaml"
    chat.write_text(
        "cases:\n"
        "  - {category: direct, text: 'I want to die', min: high}\n"
        "  - {category: idiom, text: 'this exam is killing me', max: low}\n"
        "  - {set: holdout, category: negation, text: 'I would never kill myself', max: low}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        safety_command, ["--sdcnl", str(sdcnl), "--dreaddit", str(dreaddit), "--chat", str(chat), "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    for expected in ("shipped", "keyword baseline", "phrases only", "SW recall", "check half", "holdout", "idiom"):
        assert expected in result.output


def test_command_explains_a_missing_file(tmp_path: Path) -> None:
    from sameboat.eval.safety_cli import safety_command

    result = CliRunner().invoke(safety_command, ["--sdcnl", str(tmp_path / "nope.csv")])
    assert result.exit_code != 0
    assert "not found" in result.output and "--sdcnl" in result.output
