"""The demo's simulated day: customers' posts spread over the past 24 hours, agents who answer some
late and solve some, so every chart of the dashboard has something to show.

X's clock (the fake stamps and numbers posts by it) runs from 23.5 hours ago while the first 40 % of
the traffic is streamed, then through the last 50 minutes for the rest, and is real time again once
streaming ends. Agents answer in real time: an early post answered now was answered late, a post of
the last hour was answered within it, and the tickets nobody answers are the backlog. X post ids stay
increasing (the clock only moves forward), so polling by ``since_id`` is unaffected.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

EARLY_SHARE = 0.4  # of the traffic, spread over the day before the last 50 minutes
DAY_SECONDS = 23.5 * 3600
LAST_STRETCH = 50 * 60
SOLVE_SHARE = 0.6  # of answered tickets, solved by the agents


class SimulatedDay:
    def __init__(self, real: Callable[[], float] = time.time):
        self.real = real
        self.fraction = 1.0

    def offset(self) -> float:
        """Seconds behind real time for the current point of the traffic."""
        f = self.fraction
        if f >= 1.0:
            return 0.0
        if f < EARLY_SHARE:
            return DAY_SECONDS + (LAST_STRETCH - DAY_SECONDS) * f / EARLY_SHARE
        return LAST_STRETCH * (1.0 - (f - EARLY_SHARE) / (1.0 - EARLY_SHARE))

    def clock(self) -> float:
        return self.real() - self.offset()

    def at(self, fraction: float) -> None:
        # Never backwards: post ids and timestamps only grow.
        self.fraction = max(self.fraction if self.fraction < 1.0 else 0.0, min(1.0, fraction))

    def finish(self) -> None:
        self.fraction = 1.0


def solve_some(zd_state: Any, subdomain: str, answered: set[int]) -> int:
    """Agents mark a share of the tickets they answered solved (Zendesk records each change as a
    ticket event, which horseshoe reads for the resolution figures)."""
    solved = 0
    for ticket in zd_state.tickets_with_comments(subdomain):
        if ticket["id"] not in answered or ticket["status"] in ("solved", "closed"):
            continue
        if random.Random(ticket["id"] * 104729).random() < SOLVE_SHARE:
            zd_state.set_ticket_status(subdomain, ticket["id"], "solved")
            solved += 1
    return solved


def window() -> timedelta:
    """The period the demo's summary figures cover: the simulated day and the run after it."""
    return timedelta(hours=26)


def customers_rate(x_state: Any, brand_id: str, brand: str, question: str, rated: set[str]) -> int:
    """Customers who got the satisfaction question by X DM answer it (a few happy, one unhappy)."""
    answered = 0
    for post in x_state.posted_by(brand_id):
        if post.get("kind") != "dm" or question not in str(post.get("text")) or post["dm_event_id"] in rated:
            continue
        rated.add(post["dm_event_id"])
        customer = x_state.resolve_user(str(post["participant_id"])).username
        rating = (5, 4, 2, 5, 3)[len(rated) % 5]
        x_state.inject_dm(customer, brand, str(rating))
        answered += 1
    return answered
