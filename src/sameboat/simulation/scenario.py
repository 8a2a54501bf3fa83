"""One simulated day, drawn once from a seed and replayed under each dispatch policy.

Everything random that does not depend on the policy is drawn here: arrivals and their topics, patience and
conversation lengths, the listener pool and roster, connection drops, and each listener's answer to each
member (so two policies that offer the same member to the same listener get the same answer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from sameboat.domain.taxonomy import Taxonomy, shipped_taxonomy
from sameboat.simulation.topics import (
    SAME_BOAT_SIMILARITY,
    STRICT_SIMILARITY,
    DemandMix,
    ListenerMix,
    listener_experiences,
    listener_topic_distribution,
    request_topic_distribution,
    similarity_matrix,
)

HOUR = 3600.0

#: Relative arrival rate for each hour of the day (00:00 first): quiet before dawn, busiest in the evening,
#: the shape helplines commonly report. Scaled so the day's mean is ``requests_per_hour``.
DAILY_CURVE = (
    0.55, 0.45, 0.35, 0.30, 0.28, 0.30, 0.40, 0.60, 0.80, 0.95, 1.05, 1.10,
    1.15, 1.15, 1.15, 1.20, 1.25, 1.35, 1.50, 1.60, 1.70, 1.65, 1.40, 0.95,
)  # fmt: skip


class Staffing(StrEnum):
    #: Listeners on shift each hour = load + beta * sqrt(load) (square-root staffing, the usual rule for
    #: call centres), beta chosen so the day's average is ``listeners_online``.
    SQRT = "sqrt"
    #: Listeners on shift each hour proportional to that hour's arrivals.
    PROPORTIONAL = "proportional"


class Answer(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class ScenarioConfig:
    seed: int = 1
    hours: float = 24.0
    requests_per_hour: float = 60.0
    #: Average number of listeners on shift over the day.
    listeners_online: float = 38.0
    #: False: flat arrivals and a constant roster (the setting in which Erlang C applies).
    daily_curve: bool = True
    staffing: Staffing = Staffing.SQRT
    #: Distinct volunteers who cover the day's shifts.
    pool_size: int = 260
    #: Fewest and most lived-experience tags per listener.
    experiences: tuple[int, int] = (1, 3)
    #: Relative frequency of each number of experiences from ``experiences[0]`` up (None: equally likely).
    experience_weights: tuple[float, ...] | None = None
    #: What members ask about (``topics.py``), and whether listeners' experiences follow it.
    demand_mix: DemandMix = DemandMix.CONCENTRATED
    listener_mix: ListenerMix = ListenerMix.DEMAND
    session_mean_minutes: float = 30.0
    #: Shape of the lognormal conversation length (0.6 with a 30-minute mean: 80 % between 12 and 54 minutes).
    session_sigma: float = 0.6
    accept_share: float = 0.80
    decline_share: float = 0.15  # the rest never answer (the offer times out)
    response_median_seconds: float = 8.0
    response_sigma: float = 0.6
    #: Mean of the exponential time a member waits before giving up.
    patience_mean_minutes: float = 10.0
    #: A listener who missed an offer (and was set away) comes back after this long on average.
    away_mean_minutes: float = 3.0
    #: Connection drops per listener-hour on shift, and mean time to reconnect.
    drops_per_listener_hour: float = 0.05
    reconnect_mean_seconds: float = 60.0
    high_risk_share: float = 0.02
    daily_limit: int = 10
    #: Spread of the noise added to taxonomy similarity to make a match score (the story's closeness).
    score_noise: float = 0.15

    def __post_init__(self) -> None:
        if self.accept_share + self.decline_share > 1.0:
            raise ValueError("accept_share + decline_share must not exceed 1")
        if self.requests_per_hour <= 0 or self.listeners_online <= 0 or self.hours <= 0:
            raise ValueError("rates, listeners and hours must be positive")
        if not 1 <= self.experiences[0] <= self.experiences[1]:
            raise ValueError("experiences must be a range like (1, 3)")
        span = self.experiences[1] - self.experiences[0] + 1
        if self.experience_weights is not None and len(self.experience_weights) != span:
            raise ValueError("experience_weights needs one weight per number of experiences")


@dataclass(frozen=True)
class Arrival:
    index: int
    at: float  # seconds from the start of the day
    topic: str
    high_risk: bool
    patience: float
    session_length: float
    #: Match score of every volunteer in the pool for this member (taxonomy similarity plus noise).
    scores: np.ndarray = field(repr=False)
    #: Whether each volunteer strictly shares this member's topic (the same tag, its parent or a child).
    shares_topic: np.ndarray = field(repr=False)
    #: Whether each volunteer is in the same boat (also a sibling tag under the same parent).
    same_boat: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Volunteer:
    index: int
    id: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ShiftChange:
    at: float
    volunteer: int
    on: bool


@dataclass(frozen=True)
class Drop:
    at: float
    volunteer: int
    reconnect_after: float


@dataclass
class Scenario:
    config: ScenarioConfig
    taxonomy: Taxonomy
    arrivals: list[Arrival]
    volunteers: list[Volunteer]
    roster: list[ShiftChange]
    drops: list[Drop]
    #: Listeners on shift in each hour (for Erlang C hour by hour).
    staffing_by_hour: list[int]
    arrivals_by_hour: list[float]

    def answer(self, arrival: Arrival, volunteer: int) -> tuple[Answer, float]:
        """What this volunteer answers when offered this member, and after how many seconds (fixed per pair)."""
        rng = np.random.default_rng((self.config.seed, 7, arrival.index, volunteer))
        u = rng.random()
        delay = self.config.response_median_seconds * math.exp(self.config.response_sigma * rng.standard_normal())
        if u < self.config.accept_share:
            return Answer.ACCEPT, delay
        if u < self.config.accept_share + self.config.decline_share:
            return Answer.DECLINE, delay
        return Answer.NO_ANSWER, math.inf

    def away_time(self, volunteer: int, at: float) -> float:
        rng = np.random.default_rng((self.config.seed, 11, volunteer, int(at * 1000)))
        return float(rng.exponential(self.config.away_mean_minutes * 60.0))


def hourly_rates(config: ScenarioConfig) -> list[float]:
    """Arrivals per hour for each hour of the simulated period."""
    hours = math.ceil(config.hours)
    if not config.daily_curve:
        return [config.requests_per_hour] * hours
    mean = sum(DAILY_CURVE) / len(DAILY_CURVE)
    return [config.requests_per_hour * DAILY_CURVE[h % 24] / mean for h in range(hours)]


def hourly_staffing(config: ScenarioConfig, rates: list[float]) -> list[int]:
    """Listeners on shift each hour, averaging ``listeners_online``."""
    if not config.daily_curve:
        return [round(config.listeners_online)] * len(rates)
    loads = np.array(rates) * config.session_mean_minutes / 60.0
    if config.staffing is Staffing.PROPORTIONAL:
        staff = loads * config.listeners_online / loads.mean()
    else:
        beta = (config.listeners_online - loads.mean()) / np.sqrt(loads).mean()
        staff = loads + beta * np.sqrt(loads)
    return [max(int(round(s)), 1) for s in staff]


def _arrival_times(rates: list[float], horizon: float, rng: np.random.Generator) -> list[float]:
    """Poisson arrivals whose rate follows ``rates`` (per hour), smoothly interpolated between hour midpoints."""
    peak = max(rates) / HOUR
    midpoints = np.arange(len(rates)) * HOUR + HOUR / 2
    times: list[float] = []
    t = 0.0
    while True:  # thinning (Lewis and Shedler)
        t += float(rng.exponential(1.0 / peak))
        if t >= horizon:
            return times
        rate = float(np.interp(t, midpoints, rates)) / HOUR
        if rng.random() < rate / peak:
            times.append(t)


def _roster(staffing: list[int], pool: int, horizon: float, rng: np.random.Generator) -> list[ShiftChange]:
    """Shift changes meeting each hour's staffing. Changes happen in the first quarter of the hour; those who
    have been on longest leave first, and newcomers are volunteers who have not yet worked that day."""
    if max(staffing) > pool:
        raise ValueError(f"pool of {pool} volunteers cannot staff {max(staffing)} at once")
    changes: list[ShiftChange] = []
    on_shift: list[int] = []  # in order of arrival on shift
    fresh = [int(v) for v in rng.permutation(pool)]
    rested: list[int] = []
    for hour, needed in enumerate(staffing):
        start = hour * HOUR
        if start >= horizon:
            break
        while len(on_shift) > needed:
            leaving = on_shift.pop(0)
            changes.append(ShiftChange(start + float(rng.uniform(0, HOUR / 4)), leaving, on=False))
            rested.append(leaving)
        while len(on_shift) < needed:
            joining = fresh.pop() if fresh else rested.pop(0)
            changes.append(ShiftChange(start + float(rng.uniform(0, HOUR / 4)) if hour else 0.0, joining, on=True))
            on_shift.append(joining)
        # Long shifts rotate: anyone on for 4 hours hands over to someone fresh.
        for volunteer in list(on_shift):
            since = max(c.at for c in changes if c.volunteer == volunteer and c.on)
            if start - since >= 4 * HOUR and (fresh or rested):
                at = start + float(rng.uniform(0, HOUR / 4))
                on_shift.remove(volunteer)
                changes.append(ShiftChange(at, volunteer, on=False))
                rested.append(volunteer)
                joining = fresh.pop() if fresh else rested.pop(0)
                changes.append(ShiftChange(at, joining, on=True))
                on_shift.append(joining)
    return sorted(changes, key=lambda c: (c.at, not c.on, c.volunteer))


def build_scenario(config: ScenarioConfig, taxonomy: Taxonomy | None = None) -> Scenario:
    taxonomy = taxonomy or shipped_taxonomy()
    rng = np.random.default_rng((config.seed, 1))
    tags, probabilities = request_topic_distribution(taxonomy, config.demand_mix)
    lived = listener_topic_distribution(taxonomy, tags, probabilities, config.listener_mix)
    tag_index = {t: i for i, t in enumerate(tags)}
    similarity = similarity_matrix(taxonomy, tags)

    volunteers = [
        Volunteer(
            v,
            f"listener-{v:03d}",
            listener_experiences(taxonomy, tags, lived, rng, config.experiences, config.experience_weights),
        )
        for v in range(config.pool_size)
    ]
    # best similarity between each possible member topic and each volunteer's experiences: (topics, pool)
    best_overlap = np.array(
        [[max(similarity[t, tag_index[x]] for x in v.tags) for v in volunteers] for t in range(len(tags))]
    )

    horizon = config.hours * HOUR
    rates = hourly_rates(config)
    staffing = hourly_staffing(config, rates)
    arrival_rng = np.random.default_rng((config.seed, 2))
    arrivals = []
    mu = math.log(config.session_mean_minutes * 60.0) - config.session_sigma**2 / 2  # lognormal with that mean
    for index, at in enumerate(_arrival_times(rates, horizon, arrival_rng)):
        topic = int(arrival_rng.choice(len(tags), p=probabilities))
        overlap = best_overlap[topic]
        arrivals.append(
            Arrival(
                index=index,
                at=at,
                topic=tags[topic],
                high_risk=bool(arrival_rng.random() < config.high_risk_share),
                patience=float(arrival_rng.exponential(config.patience_mean_minutes * 60.0)),
                session_length=float(arrival_rng.lognormal(mu, config.session_sigma)),
                scores=overlap + config.score_noise * arrival_rng.standard_normal(len(volunteers)),
                shares_topic=overlap >= STRICT_SIMILARITY,
                same_boat=overlap >= SAME_BOAT_SIMILARITY,
            )
        )
    roster = _roster(staffing, config.pool_size, horizon, np.random.default_rng((config.seed, 3)))
    drop_rng = np.random.default_rng((config.seed, 4))
    drops = []
    per_second = config.drops_per_listener_hour / HOUR
    if per_second > 0:
        for v in range(config.pool_size):
            t = float(drop_rng.exponential(1.0 / per_second))
            while t < horizon:
                drops.append(Drop(t, v, float(drop_rng.exponential(config.reconnect_mean_seconds))))
                t += float(drop_rng.exponential(1.0 / per_second))
    return Scenario(config, taxonomy, arrivals, volunteers, roster, sorted(drops, key=lambda d: d.at), staffing, rates)
