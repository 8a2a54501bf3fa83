"""``sameboat eval ...``: model-quality commands on public data (see docs/matching.md).

Run without the main CLI as ``python -m sameboat.eval.cli matching --pool FILE --queries FILE``.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import click

# Convenience only: the shared evaluation data sits beside the repository on the team's machines.
_SHARED_ESCONV = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "esconv"


def _default(name: str) -> Path | None:
    candidate = _SHARED_ESCONV / name
    return candidate if candidate.exists() else None


@click.group("eval")
def eval_group() -> None:
    """Measure model quality on public, labelled data (never shipped with Sameboat)."""


@eval_group.command("matching")
@click.option(
    "--pool",
    "pool_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=_default("train.jsonl"),
    required=_default("train.jsonl") is None,
    help="ESConv-format JSON lines whose situations become the listener pool (e.g. esconv/train.jsonl).",
)
@click.option(
    "--queries",
    "queries_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=_default("valid.jsonl"),
    required=_default("valid.jsonl") is None,
    help="ESConv-format JSON lines whose situations become member requests (e.g. esconv/valid.jsonl).",
)
@click.option(
    "--story-from",
    type=click.Choice(["situation+dialog", "situation"]),
    default="situation+dialog",
    show_default=True,
    help="What a pool listener's story is: the situation sentence plus the seeker's own turns of the dialog "
    "(embedded in two parts, averaged), or the situation alone. Requests are always the query file's "
    "situations, text only.",
)
@click.option(
    "--leave-one-out/--no-leave-one-out",
    default=False,
    help="Also score the engine on the pool itself: each line's situation asks, text only, with its own "
    "listener left out (the tuning view beside the query file).",
)
def matching_command(pool_path: Path, queries_path: Path, story_from: str, leave_one_out: bool) -> None:
    """Precision@1, precision@5 and MRR of the matching engine and of baselines, in one run."""
    from sameboat.adapters.embedding import default_embedder
    from sameboat.domain.taxonomy import shipped_taxonomy
    from sameboat.eval import matching
    from sameboat.eval.esconv import read_situations

    pool = read_situations(pool_path)
    queries = read_situations(queries_path)
    if not pool or not queries:
        raise click.ClickException("the pool and the query file both need lines with situation and problem_type")
    embedder = default_embedder()
    taxonomy = shipped_taxonomy()
    started = time.perf_counter()
    evaluation = matching.evaluate_matching(
        pool, queries, embedder, taxonomy, progress=lambda m: click.echo(m, err=True), story_from=story_from
    )
    command = ["sameboat eval matching", "--pool", str(pool_path), "--queries", str(queries_path)]
    command += ["--story-from", story_from] + (["--leave-one-out"] if leave_one_out else [])
    click.echo(f"command: {' '.join(command)}")
    click.echo(
        f"pool: {len(pool)} listener stories ({story_from}) from {pool_path.name}; "
        f"requests: {len(queries)} situations (text only) from {queries_path.name}"
    )
    click.echo(f"model: {evaluation.model_version}; python {platform.python_version()}")
    click.echo(f"requests flagged as needing more detail (still ranked): {evaluation.needs_more_detail}")
    click.echo("")
    click.echo(matching.format_table(evaluation))
    if leave_one_out:
        assert evaluation.pool_vectors is not None
        row = matching.leave_one_out(
            pool,
            evaluation.pool_vectors,
            taxonomy,
            matching.MatchWeights(),
            situation_vectors=evaluation.pool_situation_vectors,
            tag_prototypes=evaluation.tag_prototypes,
        )
        click.echo(
            f"{row.name:<32} {row.scores.precision_at_1:6.3f} {row.scores.precision_at_5:6.3f} "
            f"{row.scores.mrr:6.3f} {row.topic_accuracy:9.3f}"
        )
    click.echo("")
    click.echo(f"({time.perf_counter() - started:.1f} s, of which embedding {evaluation.embed_seconds:.1f} s)")


if __name__ == "__main__":
    sys.exit(eval_group())
