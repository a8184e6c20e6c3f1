"""What an attempt's result says about the backend's health, as opposed to about the request.

A failure counts against the backend (its breaker, its error rate); a 429 only asks us to back
off; a request the backend turned down as invalid shows the backend answering, so it is not held
against it: otherwise one client sending bad requests could take a backend out for everyone.
"""

from __future__ import annotations

from typing import Literal

Outcome = Literal["success", "failure", "rate_limited", "rejected"]

REQUEST_FAULT_STATUSES = frozenset({400, 413, 422})
"""Statuses that blame the request (bad parameters, prompt too long), not the backend.
401, 403 and 404 are failures: a bad key or a wrong upstream model breaks the route for everyone."""


def classify(*, ok: bool, status: int | None) -> Outcome:
    if ok:
        return "success"
    if status == 429:
        return "rate_limited"
    if status in REQUEST_FAULT_STATUSES:
        return "rejected"
    return "failure"
