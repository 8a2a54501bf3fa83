"""The evaluation command's parts, on a few lines written here (never the research data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from sameboat.eval.cli import eval_group
from sameboat.eval.esconv import Situation, label_for, read_situations
from sameboat.eval.matching import STORY_FROM_DIALOG, STORY_FROM_SITUATION, story_text, story_vectors
from sameboat.eval.metrics import RankingTally
from sameboat.eval.tfidf import TfIdf
from tests.unit.matching.helpers import LetterEmbedder

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


def test_reader_keeps_the_seekers_turns_only(tmp_path: Path) -> None:
    path = tmp_path / "pool.jsonl"
    dialog = [
        {"speaker": "usr", "text": "Hi."},
        {"speaker": "sys", "text": "Hello, what is on your mind?", "strategy": "Question"},
        {"speaker": "usr", "text": "  I was laid off\nlast   week. "},
        {"speaker": "usr", "text": ""},
    ]
    lines = [
        {"situation": "I lost my job.", "problem_type": "job crisis", "dialog": dialog},
        {"situation": "No dialog here.", "problem_type": "job crisis"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    with_dialog, without = read_situations(path)
    assert with_dialog.seeker_turns == ("Hi.", "I was laid off last week.")
    assert with_dialog.seeker_words == "Hi. I was laid off last week."
    assert without.seeker_turns == () and without.seeker_words == ""
    assert story_text(with_dialog, STORY_FROM_DIALOG) == "I lost my job. Hi. I was laid off last week."
    assert story_text(with_dialog, STORY_FROM_SITUATION) == "I lost my job."


def test_story_vectors_average_the_situation_and_the_seekers_words() -> None:
    embedder = LetterEmbedder()
    pool = [
        Situation("abc", "job crisis", "job-loss", "job-loss", seeker_turns=("xyz", "zzz")),
        Situation("hello", "job crisis", "job-loss", "job-loss"),
    ]
    alone = story_vectors(pool, embedder, STORY_FROM_SITUATION)
    stories = story_vectors(pool, embedder, STORY_FROM_DIALOG)
    assert np.allclose(alone, embedder.embed_many(["abc", "hello"]))
    both = embedder.embed("abc") + embedder.embed("xyz zzz")
    assert np.allclose(stories[0], both / np.linalg.norm(both))
    assert np.allclose(stories[1], alone[1])  # no dialog: the situation's vector
    assert np.allclose(np.linalg.norm(stories, axis=1), 1.0)


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
    assert "--story-from situation+dialog" in result.output


def test_requests_never_use_the_query_files_dialogs(tmp_path: Path) -> None:
    pool = _write(tmp_path / "pool.jsonl", POOL)
    plain = _write(tmp_path / "queries.jsonl", QUERIES)
    talkative = tmp_path / "talkative.jsonl"
    dialog = [{"speaker": "usr", "text": "My dog died."}]
    talkative.write_text(
        "\n".join(json.dumps({"situation": text, "problem_type": label, "dialog": dialog}) for text, label in QUERIES),
        encoding="utf-8",
    )
    runs = []
    for queries in (plain, talkative):
        args = ["matching", "--pool", str(pool), "--queries", str(queries), "--leave-one-out"]
        result = CliRunner().invoke(eval_group, args)
        assert result.exit_code == 0, result.output
        runs.append([line for line in result.output.splitlines() if "engine" in line])
    assert runs[0] == runs[1]
