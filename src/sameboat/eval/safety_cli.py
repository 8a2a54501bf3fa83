"""``sameboat eval safety``: how well the risk engine finds suicide risk, against a keyword baseline.

Run without the main CLI as ``python -m sameboat.eval.safety_cli [--sdcnl FILE] [--dreaddit FILE]``.
Prints, for the shipped engine, the engine without its embedding layer, and a keyword-only baseline, all
measured in the same run:

* recall of r/SuicideWatch posts at level high or above (SDCNL, ``is_suicide`` = 1);
* the share of r/depression posts flagged high or above (SDCNL, ``is_suicide`` = 0);
* the share of ordinary stress posts flagged high or above (Dreaddit);
* accuracy per category on the team-written chat set (dev and holdout parts separately).

Post figures are given for all rows and for the "check" half that was never looked at while tuning (see
docs/safety.md). The data files are read from the paths given and never copied.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import click

from sameboat.domain.safety.risk import RiskAssessor, RiskLevel
from sameboat.eval.safety import (
    ChatCase,
    Post,
    build_default_assessor,
    engine_detector,
    format_chat_table,
    format_post_table,
    keyword_detector,
    read_chat_set,
    read_dreaddit,
    read_sdcnl,
    score_chat,
    score_posts,
)

_REPO = Path(__file__).resolve().parents[3]
DEFAULT_SDCNL = "../shared/data/sdcnl/training-set.csv"
DEFAULT_DREADDIT = "../shared/data/dreaddit/dreaddit-train.csv"


def _resolve(given: str) -> Path:
    """A path as given, else relative to the repository (where the team's shared data sits beside it)."""
    path = Path(given).expanduser()
    if path.is_absolute() or path.exists():
        return path
    beside_repo = _REPO / given
    return beside_repo if beside_repo.exists() else path


@click.command("safety")
@click.option(
    "--sdcnl",
    "sdcnl_paths",
    multiple=True,
    default=(DEFAULT_SDCNL,),
    show_default=True,
    help="SDCNL-format CSV (title, selftext, is_suicide). Repeat for several files.",
)
@click.option(
    "--dreaddit",
    "dreaddit_paths",
    multiple=True,
    default=(DEFAULT_DREADDIT,),
    show_default=True,
    help="Dreaddit-format CSV (text, label). Repeat for several files.",
)
@click.option(
    "--chat",
    "chat_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Chat-set YAML (default: the team-written set shipped in sameboat/eval/data).",
)
@click.option("--chat-only", is_flag=True, help="Skip the Reddit files; only score the chat set.")
@click.option("--jobs", type=int, default=min(4, os.cpu_count() or 1), show_default=True, help="Threads for the posts.")
@click.option("--show-misses", is_flag=True, help="List the chat messages the shipped engine gets wrong.")
def safety_command(
    sdcnl_paths: tuple[str, ...],
    dreaddit_paths: tuple[str, ...],
    chat_path: Path | None,
    chat_only: bool,
    jobs: int,
    show_misses: bool,
) -> None:
    """Recall on r/SuicideWatch, false alarms on everyday stress, and chat-set accuracy, with a baseline."""
    started = time.perf_counter()
    posts: list[Post] = []
    if not chat_only:
        for given in sdcnl_paths:
            posts += _read(read_sdcnl, given, "--sdcnl")
        for given in dreaddit_paths:
            posts += _read(read_dreaddit, given, "--dreaddit")
    cases = read_chat_set(chat_path)

    shipped_engine = build_default_assessor(threads=1)
    detectors = [
        engine_detector(shipped_engine, "shipped"),
        engine_detector(RiskAssessor(None), "phrases only"),
        keyword_detector(),
    ]

    given = sys.argv[1:]
    if given[:2] == ["eval", "safety"]:  # run through the main CLI rather than python -m
        given = given[2:]
    click.echo(f"command: {' '.join(['sameboat eval safety', *given])}")
    click.echo(
        f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus; "
        f"python {platform.python_version()}; jobs {jobs}"
    )
    click.echo(f"model: {shipped_engine.model_version}")
    click.echo("detectors: shipped = phrases + MiniLM similarity; phrases only = the same engine without")
    click.echo("embeddings (ablation); keyword baseline = alarming words anywhere, no stance, no context")
    click.echo("")

    if posts:
        counts = {group: sum(1 for p in posts if p.group == group) for group in dict.fromkeys(p.group for p in posts)}
        click.echo("posts: " + ", ".join(f"{n} {group}" for group, n in counts.items()))
        rows_all, rows_check = [], []
        for detector in detectors:
            everything, check, _ = score_posts(posts, detector, jobs=jobs)
            rows_all.append((detector.name, everything))
            rows_check.append((detector.name, check))
        click.echo("")
        click.echo("Share of posts flagged high or above (SW recall = r/SuicideWatch found), all posts:")
        click.echo(format_post_table(rows_all))
        click.echo("")
        click.echo("Same, on the check half only (posts never looked at while tuning):")
        click.echo(format_post_table(rows_check))
        click.echo("")

    for part in dict.fromkeys(c.set for c in cases):  # dev, holdout, holdout2, ... in file order
        subset = [c for c in cases if c.set == part]
        if not subset:
            continue
        rows = [(d.name, score_chat(subset, d)) for d in detectors]
        click.echo(f"Chat set ({part}, {len(subset)} messages): share within the expected level range")
        click.echo(format_chat_table(subset, rows))
        click.echo("")
        if show_misses:
            _print_misses(rows[0][1].misses, shipped_engine)

    click.echo(f"({time.perf_counter() - started:.1f} s)")


def _read(reader, given: str, option: str) -> list[Post]:  # type: ignore[no-untyped-def]
    path = _resolve(given)
    if not path.exists():
        raise click.ClickException(f"{path} not found; pass {option} FILE (or --chat-only)")
    try:
        return reader(path)
    except (ValueError, KeyError) as error:
        raise click.ClickException(f"{path}: {error}") from error


def _print_misses(misses: list[tuple[ChatCase, RiskLevel]], assessor: RiskAssessor) -> None:
    for case, level in misses:
        assessment = assessor.assess_sequence(case.messages)[-1]
        click.echo(f"  [{case.category}] expected {case.expected}, got {level.label}: {case.messages[-1]!r}")
        if assessment.reasons:
            click.echo(f"      because: {'; '.join(assessment.reasons)}")
    if misses:
        click.echo("")


if __name__ == "__main__":
    safety_command()
