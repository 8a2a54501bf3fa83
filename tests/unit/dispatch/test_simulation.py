"""The day simulation: Erlang C formulas, scenario generation, and a short day under both policies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from sameboat.domain.dispatch import DispatchConfig
from sameboat.domain.taxonomy import shipped_taxonomy
from sameboat.simulation.cli import simulate_group
from sameboat.simulation.day import simulate_day
from sameboat.simulation.erlang import ErlangC
from sameboat.simulation.report import policy_row
from sameboat.simulation.scenario import ScenarioConfig, build_scenario, hourly_rates, hourly_staffing
from sameboat.simulation.topics import (
    CONCENTRATED_WEIGHTS,
    WIDE_WEIGHTS,
    DemandMix,
    ListenerMix,
    leading_share,
    listener_experiences,
    listener_topic_distribution,
    request_topic_distribution,
)

SHORT = ScenarioConfig(seed=3, hours=3, requests_per_hour=30, listeners_online=18, pool_size=60)


def test_erlang_c_textbook_values() -> None:
    single = ErlangC(1, 0.5, 1.0)  # M/M/1 with rho = 0.5
    assert single.probability_of_waiting() == pytest.approx(0.5)
    assert single.mean_wait() == pytest.approx(0.5 / (1.0 - 0.5))
    assert ErlangC(2, 1.0, 1.0).probability_of_waiting() == pytest.approx(1 / 3)
    load = ErlangC(38, 60 / 3600, 1800)
    assert load.offered_load == pytest.approx(30) and load.utilisation == pytest.approx(30 / 38)
    assert load.share_served_within(0) == pytest.approx(1 - load.probability_of_waiting())
    assert 1 - load.share_served_within(load.wait_quantile(0.9)) == pytest.approx(0.1)
    overloaded = ErlangC(2, 3.0, 1.0)
    assert overloaded.probability_of_waiting() == 1.0 and math.isinf(overloaded.mean_wait())


def test_topics_come_from_the_taxonomy() -> None:
    taxonomy = shipped_taxonomy()
    assert set(CONCENTRATED_WEIGHTS) | set(WIDE_WEIGHTS) <= set(taxonomy.tags)
    tags, demand = request_topic_distribution(taxonomy)
    assert demand.sum() == pytest.approx(1.0)
    assert (
        leading_share(demand, tags) > 0.6 > leading_share(request_topic_distribution(taxonomy, DemandMix.WIDE)[1], tags)
    )
    rng = np.random.default_rng(0)
    for mix in ListenerMix:
        lived = listener_topic_distribution(taxonomy, tags, demand, mix)
        assert lived.sum() == pytest.approx(1.0)
        for _ in range(200):
            experiences = listener_experiences(taxonomy, tags, lived, rng)
            assert 1 <= len(experiences) <= 3 and len(set(experiences)) == len(experiences)
    # Listeners recruited for the demand have its commonest topics far more often than a uniform draw gives them.
    by_demand = listener_topic_distribution(taxonomy, tags, demand, ListenerMix.DEMAND)
    uniform = listener_topic_distribution(taxonomy, tags, demand, ListenerMix.UNIFORM)
    depression = tags.index("depression")
    assert by_demand[depression] > 5 * uniform[depression]
    assert uniform[tags.index("relationships")] == 0.0  # broad areas are not lived experiences
    assert np.all(by_demand[uniform > 0] > 0)  # every specific tag has some supply (the spread)


def test_strict_and_same_boat() -> None:
    scenario = build_scenario(ScenarioConfig(seed=2, hours=1, pool_size=80))
    taxonomy = scenario.taxonomy
    for arrival in scenario.arrivals[:20]:
        assert np.all(arrival.same_boat >= arrival.shares_topic)  # strict implies same boat
        for volunteer in scenario.volunteers:
            best = max(taxonomy.similarity(arrival.topic, tag) for tag in volunteer.tags)
            assert arrival.shares_topic[volunteer.index] == (best >= 0.7)
            assert arrival.same_boat[volunteer.index] == (best >= 0.5)
    assert taxonomy.similarity("divorce", "breakup") == 0.5 and taxonomy.similarity("grief-parent", "grief") == 0.7


def test_scenario_is_reproducible_and_staffed_as_asked() -> None:
    config = ScenarioConfig(seed=5)
    first, second = build_scenario(config), build_scenario(config)
    assert [(a.at, a.topic) for a in first.arrivals] == [(a.at, a.topic) for a in second.arrivals]
    assert first.answer(first.arrivals[0], 3) == second.answer(second.arrivals[0], 3)
    assert 1300 < len(first.arrivals) < 1600  # 60/h over 24 h
    staffing = hourly_staffing(config, hourly_rates(config))
    assert np.mean(staffing) == pytest.approx(38, abs=0.5)
    on = sum(1 for c in first.roster if c.on)
    assert on == sum(1 for c in first.roster if not c.on) + staffing[-1]  # everyone who came either left or is on


def test_a_short_day_under_both_policies() -> None:
    scenario = build_scenario(SHORT)
    ours = simulate_day(scenario, DispatchConfig(), "ours")
    fcfs = simulate_day(scenario, DispatchConfig(), "first-available")
    for result in (ours, fcfs):
        assert [r.arrival for r in result.requests] == scenario.arrivals
        for record in result.requests:
            assert record.connected_at is None or record.abandoned_at is None
            assert record.connected_at is None or record.connected_at >= record.arrival.at
        assert result.offers_sent >= sum(r.connected_at is not None for r in result.requests)
    ours_row, fcfs_row = policy_row("ours", ours), policy_row("fcfs", fcfs)
    assert ours_row.topic_matched > fcfs_row.topic_matched
    assert ours_row.same_boat >= ours_row.topic_matched
    for record in ours.requests:
        assert record.sharing_open <= record.sharing_on_shift and record.sharing_open <= record.same_boat_open
    assert 0.5 < ours_row.within_target <= 1.0 and 0.0 < ours_row.utilisation < 1.0
    with pytest.raises(ValueError):
        simulate_day(scenario, DispatchConfig(), "random")


def test_the_command_prints_the_table() -> None:
    result = CliRunner().invoke(
        simulate_group, ["dispatch", "--hours", "2", "--rate", "20", "--listeners", "12", "--repeat", "2"]
    )
    assert result.exit_code == 0, result.output
    for expected in ("machine:", "command:", "seed 1", "(a) sameboat dispatch", "(b) first available", "Erlang C"):
        assert expected in result.output
    assert "topic: strict" in result.output and "same boat" in result.output and "concentrated demand" in result.output
    uniform = CliRunner().invoke(
        simulate_group, ["dispatch", "--hours", "1", "--rate", "10", "--listeners", "6", "--listener-mix", "uniform"]
    )
    assert uniform.exit_code == 0 and "without regard to demand" in uniform.output
    assert "over seeds 1..2" in result.output
    bad = CliRunner().invoke(simulate_group, ["dispatch", "--accept", "0.9", "--decline", "0.3"])
    assert bad.exit_code != 0 and "must not exceed 1" in bad.output
