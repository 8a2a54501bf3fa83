"""`sameboat simulate ...`: simulations that print figures (also `python -m sameboat.simulation.cli`)."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sameboat.domain.dispatch import DispatchConfig
from sameboat.settings import Settings

if TYPE_CHECKING:
    from sameboat.simulation.scenario import ScenarioConfig


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def topic_description(config: ScenarioConfig) -> str:
    """One line on the demand mix and how listeners' experiences are drawn."""
    from sameboat.domain.taxonomy import shipped_taxonomy
    from sameboat.simulation.topics import (
        LISTENER_SPREAD,
        ListenerMix,
        leading_share,
        request_topic_distribution,
    )

    tags, demand = request_topic_distribution(shipped_taxonomy(), config.demand_mix)
    listeners = (
        f"listeners' experiences follow the demand ({LISTENER_SPREAD:.0%} of draws spread uniformly over the "
        "specific tags)"
        if config.listener_mix is ListenerMix.DEMAND
        else "listeners' experiences uniform over the specific tags (without regard to demand)"
    )
    return (
        f"{config.demand_mix} demand (the eight leading topics {leading_share(demand, tags):.0%} of requests); "
        f"{listeners}; strict = same tag, parent or child; same boat = also a sibling"
    )


@click.group("simulate")
def simulate_group() -> None:
    """Simulations on a fake clock that print their figures."""


@simulate_group.command("dispatch")
@click.option("--seed", default=1, show_default=True, help="Seed for everything random in the day.")
@click.option("--hours", default=24.0, show_default=True, help="Length of the simulated period.")
@click.option("--rate", "requests_per_hour", default=60.0, show_default=True, help="Mean requests per hour.")
@click.option(
    "--listeners", "listeners_online", default=38.0, show_default=True, help="Listeners on shift, on average."
)
@click.option("--session-minutes", default=30.0, show_default=True, help="Mean conversation length (lognormal).")
@click.option("--accept", "accept_share", default=0.80, show_default=True, help="Share of offers accepted.")
@click.option("--decline", "decline_share", default=0.15, show_default=True, help="Share declined (rest: no answer).")
@click.option("--patience-minutes", default=10.0, show_default=True, help="Mean time before a member gives up.")
@click.option("--break-minutes", type=float, default=None, help="Break after each conversation (engine default).")
@click.option(
    "--hold-seconds", type=float, default=None, help="Hold a new request for a better match (engine default)."
)
@click.option(
    "--hold-soon-seconds",
    type=float,
    default=Settings.model_fields["dispatch_hold_for_match_seconds"].default,
    show_default=True,
    help="Hold a new request for a better match who is free or will be within this time (the app's setting).",
)
@click.option(
    "--soon-margin",
    type=float,
    default=Settings.model_fields["dispatch_hold_margin"].default,
    show_default=True,
    help="Score margin for --hold-soon-seconds (the app's setting).",
)
@click.option("--staffing", type=click.Choice(["sqrt", "proportional"]), default="sqrt", show_default=True)
@click.option("--flat", is_flag=True, help="Flat arrivals and a constant roster (the setting where Erlang C applies).")
@click.option(
    "--experiences",
    default="demo",
    show_default=True,
    help="Lived experiences per listener: 'demo' for the demo roster's mix (1-3, mostly 2), or fewest-most\n"
    "(equally likely), e.g. 3-5.",
)
@click.option(
    "--demand",
    "demand_mix",
    type=click.Choice(["concentrated", "wide"]),
    default="concentrated",
    show_default=True,
    help="What members ask about: leading topics about 2/3 of requests, or the longer-tailed mix.",
)
@click.option(
    "--listener-mix",
    type=click.Choice(["demand", "uniform"]),
    default="demand",
    show_default=True,
    help="Listeners' lived experiences drawn from the demand (plus some spread) or uniformly over tags.",
)
@click.option(
    "--repeat", default=1, show_default=True, help="Also run this many seeds (seed, seed+1, ...) and summarise."
)
def dispatch(
    seed: int,
    hours: float,
    requests_per_hour: float,
    listeners_online: float,
    session_minutes: float,
    accept_share: float,
    decline_share: float,
    patience_minutes: float,
    break_minutes: float | None,
    hold_seconds: float | None,
    hold_soon_seconds: float | None,
    soon_margin: float | None,
    staffing: str,
    flat: bool,
    experiences: str,
    demand_mix: str,
    listener_mix: str,
    repeat: int,
) -> None:
    """Simulate a day of "talk now" requests: our dispatch vs first-available vs Erlang C."""
    from sameboat.simulation.day import simulate_day
    from sameboat.simulation.report import (
        details,
        erlang_details,
        erlang_rows,
        format_summary,
        format_table,
        policy_row,
    )
    from sameboat.simulation.scenario import ScenarioConfig, Staffing, build_scenario
    from sameboat.simulation.topics import DemandMix, ListenerMix, demo_experience_counts

    try:
        if experiences == "demo":  # the demo roster's listeners: how many tags each has
            counts = demo_experience_counts()
            span, weights = (
                (min(counts), max(counts)),
                tuple(float(counts.get(n, 0)) for n in range(min(counts), max(counts) + 1)),
            )
        else:
            fewest, _, most = experiences.partition("-")
            span, weights = (int(fewest), int(most or fewest)), None
        scenario_config = ScenarioConfig(
            experiences=span,
            experience_weights=weights,
            seed=seed,
            hours=hours,
            requests_per_hour=requests_per_hour,
            listeners_online=listeners_online,
            daily_curve=not flat,
            staffing=Staffing(staffing),
            session_mean_minutes=session_minutes,
            accept_share=accept_share,
            decline_share=decline_share,
            patience_mean_minutes=patience_minutes,
            demand_mix=DemandMix(demand_mix),
            listener_mix=ListenerMix(listener_mix),
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    overrides: dict[str, object] = {}
    if break_minutes is not None:
        overrides["break_between_sessions"] = timedelta(minutes=break_minutes)
    if hold_seconds is not None:
        overrides["hold_for_better_match"] = timedelta(seconds=hold_seconds)
    if hold_soon_seconds is not None:
        overrides["hold_for_match_freeing_soon"] = timedelta(seconds=hold_soon_seconds)
    if soon_margin is not None:
        overrides["soon_margin"] = soon_margin
    config = DispatchConfig(**overrides)  # type: ignore[arg-type]

    click.echo(f"machine: {machine_description()}")
    click.echo(f"command: {shlex.join(getattr(sys, 'orig_argv', sys.argv))}")
    click.echo(
        f"seed {seed}; {hours:g} h, {requests_per_hour:g} requests/h on average "
        f"({'flat' if flat else 'daily curve'}), {listeners_online:g} listeners on shift on average "
        f"({'constant' if flat else staffing + ' staffing'}), {session_minutes:g} min conversations, "
        f"{accept_share:.0%} accept / {decline_share:.0%} decline / {1 - accept_share - decline_share:.0%} no answer, "
        f"patience {patience_minutes:g} min, break {config.break_between_sessions.total_seconds() / 60:g} min, "
        f"offer timeout {config.offer_timeout.total_seconds():g} s, hold for a better match "
        f"{config.hold_for_better_match.total_seconds():g} s, hold for a better match freeing soon "
        f"{config.hold_for_match_freeing_soon.total_seconds():g} s (margin {config.soon_margin:g}), "
        f"{scenario_config.experiences[0]}-{scenario_config.experiences[1]} lived experiences per listener"
        + (
            " (as the demo roster: "
            + ", ".join(f"{w:g} with {n}" for n, w in zip(range(span[0], span[1] + 1), weights, strict=True))
            + f" of {sum(weights):g})"
            if weights
            else " (equally likely)"
        )
    )
    click.echo(f"topics: {topic_description(scenario_config)}")
    rows_by_seed = []
    for n in range(max(repeat, 1)):
        started = time.perf_counter()
        scenario = build_scenario(replace(scenario_config, seed=seed + n))
        built = time.perf_counter() - started
        results = {}
        for policy in ("ours", "first-available"):
            started = time.perf_counter()
            results[policy] = simulate_day(scenario, config, policy)
            results[policy].wall_seconds = time.perf_counter() - started
        rows = [
            policy_row("(a) sameboat dispatch", results["ours"]),
            policy_row("(b) first available (FCFS)", results["first-available"]),
            *erlang_rows(scenario),
        ]
        rows_by_seed.append(rows)
        if n == 0:
            click.echo(
                f"scenario (seed {seed}): {len(scenario.arrivals)} requests, {len(scenario.volunteers)} volunteers "
                f"in the pool, built in {built:.1f} s"
            )
            click.echo("")
            click.echo(format_table(rows))
            click.echo("")
            for result in results.values():
                click.echo(details(result))
            click.echo(erlang_details(scenario))
    if repeat > 1:
        click.echo("")
        click.echo(f"over seeds {seed}..{seed + repeat - 1}: mean (min - max)")
        click.echo(format_summary(rows_by_seed))


if __name__ == "__main__":
    simulate_group()
