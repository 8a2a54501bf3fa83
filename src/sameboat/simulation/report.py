"""Figures from simulated days, and the table `sameboat simulate dispatch` prints."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sameboat.simulation.day import DayResult
from sameboat.simulation.erlang import ErlangC
from sameboat.simulation.scenario import HOUR, Scenario

WITHIN = 60.0  # seconds: the "connected within a minute" target


@dataclass(frozen=True)
class Row:
    label: str
    within_target: float | None
    mean_wait: float | None
    p90_wait: float | None
    abandoned: float | None
    utilisation: float | None
    topic_matched: float | None
    same_boat: float | None = None


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def policy_row(label: str, result: DayResult) -> Row:
    records = result.requests
    waits = np.array([r.wait for r in records if r.wait is not None])
    matched = [r for r in records if r.listener is not None]
    on_shift = sum(v.on_shift_seconds for v in result.volunteers)
    busy = sum(v.busy_seconds for v in result.volunteers)
    return Row(
        label=label,
        within_target=_share(int((waits <= WITHIN).sum()), len(records)),
        mean_wait=float(waits.mean()) if waits.size else math.nan,
        p90_wait=float(np.percentile(waits, 90)) if waits.size else math.nan,
        abandoned=_share(sum(r.abandoned_at is not None for r in records), len(records)),
        utilisation=busy / on_shift if on_shift else math.nan,
        topic_matched=_share(sum(bool(r.arrival.shares_topic[r.listener]) for r in matched), len(matched)),  # type: ignore[index]
        same_boat=_share(sum(bool(r.arrival.same_boat[r.listener]) for r in matched), len(matched)),  # type: ignore[index]
    )


def erlang_rows(scenario: Scenario) -> list[Row]:
    config = scenario.config
    service = config.session_mean_minutes * 60.0
    average = ErlangC(round(config.listeners_online), config.requests_per_hour / HOUR, service)
    rows = [
        Row(
            f"(c) Erlang C: {average.servers} listeners, {config.requests_per_hour:g}/h, "
            f"{config.session_mean_minutes:g} min",
            average.share_served_within(WITHIN),
            average.mean_wait(),
            average.wait_quantile(0.9),
            None,
            average.utilisation,
            None,
        )
    ]
    if config.daily_curve:
        # The same formula hour by hour with the day's roster, weighted by each hour's arrivals.
        hourly = [
            ErlangC(c, rate / HOUR, service)
            for c, rate in zip(scenario.staffing_by_hour, scenario.arrivals_by_hour, strict=True)
        ]
        weights = np.array(scenario.arrivals_by_hour)
        weights = weights / weights.sum()
        rows.append(
            Row(
                "(c') Erlang C hour by hour, same roster",
                float(sum(w * e.share_served_within(WITHIN) for w, e in zip(weights, hourly, strict=True))),
                float(sum(w * e.mean_wait() for w, e in zip(weights, hourly, strict=True))),
                None,
                None,
                float(sum(w * e.utilisation for w, e in zip(weights, hourly, strict=True))),
                None,
            )
        )
    return rows


def _percent(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f} %"


def _seconds(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "-"
    return "inf" if math.isinf(x) else f"{x:.0f} s"


def format_table(rows: list[Row]) -> str:
    header = (
        "",
        f"within {WITHIN:g} s",
        "mean wait",
        "p90 wait",
        "abandoned",
        "utilisation",
        "topic: strict",
        "same boat",
    )
    body = [
        (
            r.label,
            _percent(r.within_target),
            _seconds(r.mean_wait),
            _seconds(r.p90_wait),
            _percent(r.abandoned),
            _percent(r.utilisation),
            _percent(r.topic_matched),
            _percent(r.same_boat),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    lines = []
    for n, line in enumerate((header, *body)):
        cells = [line[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def details(result: DayResult) -> str:
    """The second-order figures behind a policy's row."""
    records = result.requests
    high = [r.wait for r in records if r.arrival.high_risk and r.wait is not None]
    not_at_once = sum(r.first_offer_at is None or r.first_offer_at > r.arrival.at for r in records)
    lines = [
        f"{result.policy}: {len(records)} requests, {100 * _share(not_at_once, len(records)):.1f} % not offered "
        f"on arrival (no suitable listener free), {result.mean_on_shift:.1f} listeners on shift on average, "
        f"{result.offers_sent} offers ({result.offers_sent / max(len(records), 1):.2f} per request), "
        f"{result.declined} declined, {result.expired} timed out, "
        f"{sum(r.wait is None and r.abandoned_at is None for r in records)} still waiting at the end, "
        f"{len(high)} high-risk connected (mean wait {np.mean(high) if high else math.nan:.0f} s), "
        f"simulated in {result.wall_seconds:.1f} s"
    ]
    lines.append(
        f"  topic supply as members arrived: {np.mean([r.sharing_on_shift for r in records]):.1f} listeners on "
        f"shift strictly shared the topic on average; one was free for an offer for "
        f"{100 * _share(sum(r.sharing_open > 0 for r in records), len(records)):.1f} % of members "
        f"(in the same boat: {100 * _share(sum(r.same_boat_open > 0 for r in records), len(records)):.1f} %)"
    )
    estimated = [r for r in records if r.wait is not None and r.estimate_expected is not None]
    if estimated:
        expected = np.array([r.estimate_expected for r in estimated])
        likely = np.array([r.estimate_likely for r in estimated])
        actual = np.array([r.wait for r in estimated])
        lines.append(
            f"  wait estimate shown on arrival: mean {expected.mean():.0f} s predicted "
            f"vs {actual.mean():.0f} s actual, "
            f"median absolute error {np.median(np.abs(expected - actual)):.0f} s, "
            f"{100 * np.mean(actual <= likely):.0f} % connected within the 'most likely within' figure"
        )
    return "\n".join(lines)


def format_summary(rows_by_seed: list[list[Row]]) -> str:
    """Mean (min - max) of each policy's figures over several seeds."""
    fields = [
        ("within_target", f"within {WITHIN:g} s", _percent),
        ("mean_wait", "mean wait", _seconds),
        ("p90_wait", "p90 wait", _seconds),
        ("abandoned", "abandoned", _percent),
        ("utilisation", "utilisation", _percent),
        ("topic_matched", "topic: strict", _percent),
        ("same_boat", "same boat", _percent),
    ]
    summary_rows = []
    for i, first in enumerate(rows_by_seed[0][:2]):  # the two simulated policies; Erlang C does not vary
        cells = [first.label]
        for name, _, show in fields:
            values = np.array([getattr(rows[i], name) for rows in rows_by_seed], dtype=float)
            cells.append(f"{show(values.mean())} ({show(values.min()).split()[0]}-{show(values.max())})")
        summary_rows.append(cells)
    header = ["", *(label for _, label, _ in fields)]
    widths = [max(len(r[k]) for r in (header, *summary_rows)) for k in range(len(header))]
    lines = ["  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))])
             for r in (header, *summary_rows)]  # fmt: skip
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def erlang_details(scenario: Scenario) -> str:
    config = scenario.config
    erlang = ErlangC(round(config.listeners_online), config.requests_per_hour / HOUR, config.session_mean_minutes * 60)
    waiting = erlang.probability_of_waiting()
    return (
        f"Erlang C: offered load {erlang.offered_load:.1f} Erlangs on {erlang.servers} servers, probability of "
        f"waiting {100 * waiting:.1f} %, expected wait {erlang.mean_wait():.0f} s "
        f"({erlang.mean_wait() / waiting / 60 if waiting else 0:.1f} min for those who wait)"
    )
