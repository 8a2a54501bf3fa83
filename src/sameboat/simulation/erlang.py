"""Erlang C: the M/M/c queue, the textbook prediction to hold the simulation against.

Poisson arrivals at rate ``lam``, exponential service with mean ``mean_service``, ``servers`` identical servers,
infinite patience, every offer accepted at once. Times are in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ErlangC:
    servers: int
    arrivals_per_second: float
    mean_service_seconds: float

    @property
    def offered_load(self) -> float:
        """Erlangs: how many servers the work would keep busy on average."""
        return self.arrivals_per_second * self.mean_service_seconds

    @property
    def utilisation(self) -> float:
        return self.offered_load / self.servers

    @property
    def stable(self) -> bool:
        return self.utilisation < 1.0

    def probability_of_waiting(self) -> float:
        """C(c, a), computed through the Erlang B recursion (numerically stable for large c)."""
        if not self.stable:
            return 1.0
        a, blocking = self.offered_load, 1.0
        for k in range(1, self.servers + 1):
            blocking = a * blocking / (k + a * blocking)
        rho = self.utilisation
        return blocking / (1.0 - rho + rho * blocking)

    def _drain_rate(self) -> float:
        """Rate of the exponential wait of those who wait: c*mu - lambda."""
        return self.servers / self.mean_service_seconds - self.arrivals_per_second

    def mean_wait(self) -> float:
        if not self.stable:
            return math.inf
        return self.probability_of_waiting() / self._drain_rate()

    def share_served_within(self, seconds: float) -> float:
        if not self.stable:
            return 0.0
        return 1.0 - self.probability_of_waiting() * math.exp(-self._drain_rate() * seconds)

    def wait_quantile(self, q: float) -> float:
        """The wait that a share ``q`` of members do not exceed."""
        if not self.stable:
            return math.inf
        waiting = self.probability_of_waiting()
        if waiting <= 1.0 - q:
            return 0.0
        return math.log(waiting / (1.0 - q)) / self._drain_rate()
