"""How long the phone waits before it tries the server again after a failed sync."""
from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with jitter, capped: base, 2*base, 4*base ... up to ``cap`` seconds.

    "Equal jitter": half the step is fixed, half random, so retries of many phones after an
    outage spread out but no phone retries at once in a tight loop."""

    def __init__(self, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        step = min(self.cap, self.base * (2 ** self.failures))
        self.failures += 1
        return step / 2 + self._rng.uniform(0, step / 2)

    def reset(self) -> None:
        self.failures = 0
