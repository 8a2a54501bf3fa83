"""The evaluation command's parts, on a few lines written here (never the research data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from sameboat.eval.cli import eval_group
from sameboat.eval.esconv import label_for, read_situations
from sameboat.eval.metrics import RankingTally
from sameboat.eval.tfidf import TfIdf

POOL = [
    ("I was laid off from the factory after twenty years.", "job crisis"),
    ("My boss fired me on the spot and I can't pay rent.", "job crisis"),
    ("My girlfriend broke up with me after four years.", "breakup with partner"),
    ("My boyfriend dumped me by text and I can't stop crying.", "breakup with partner"),
    ("My mother yells at me about everything I do.", "conflict with parents"),
    ("I feel empty and hopeless most days and can't get out of bed.", "ongoing depression"),
]
QUERIES = [
    ("I lost my job last week and I am scared about money.", "job crisis"),
    ("My partner ended our relationship and I feel lost.", "breakup with partner"),
    ("My dad and I argue all the time, he never listens.", "Issues with Parents"),
]


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = [json.dumps({"situation": text, "problem_type": label, "dialog": []}) for text, label in rows]
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def test_parent_conflict_labels_are_one_class() -> None:
    assert (
        label_for("conflict with parents")
        == label_for("Issues with Parents")
        == (
            "issues-with-parents",
            "issues-with-parents",
        )
    )
    assert label_for("Something New") == ("something new", None)


def test_reader_skips_blank_and_incomplete_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "pool.jsonl", POOL)
    with path.open("a", encoding="utf-8") as extra:
        extra.write(json.dumps({"situation": "", "problem_type": "job crisis"}) + "\n")
    situations = read_situations(path)
    assert len(situations) == len(POOL)
    assert situations[4].tag == "issues-with-parents"


def test_ranking_tally() -> None:
    tally = RankingTally()
    tally.add([True, False, False, False, False, False])
    tally.add([False, False, True, True, False])
    scores = tally.scores()
    assert scores.precision_at_1 == 0.5
    assert abs(scores.precision_at_5 - (1 / 5 + 2 / 5) / 2) < 1e-9
    assert abs(scores.mrr - (1.0 + 1 / 3) / 2) < 1e-9


def test_tfidf_prefers_shared_rare_words() -> None:
    tfidf = TfIdf(["the cat sat on the mat", "the dog barked", "a cat and a dog"])
    similarities = tfidf.similarities("my cat sat down")
    assert int(np.argmax(similarities)) == 0
    assert tfidf.similarities("zebra").max() == 0.0


def test_eval_matching_prints_the_table(tmp_path: Path) -> None:
    pool = _write(tmp_path / "pool.jsonl", POOL)
    queries = _write(tmp_path / "queries.jsonl", QUERIES)
    result = CliRunner().invoke(eval_group, ["matching", "--pool", str(pool), "--queries", str(queries)])
    assert result.exit_code == 0, result.output
    for row in ("random", "tags only", "TF-IDF cosine", "MiniLM cosine", "engine (Sameboat)"):
        assert row in result.output
    assert "P@1" in result.output and "MRR" in result.output
