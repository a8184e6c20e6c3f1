"""The live backend table: what every routing decision knows about each backend, without I/O."""

from router.table.backend_table import BackendTable, TableConfig
from router.table.breaker import BreakerConfig, BreakerState, CircuitBreaker
from router.table.entry import AdminState, BackendEntry
from router.table.metrics_text import WorkerLoad, parse_worker_load
from router.table.outcome import Outcome, classify
from router.table.stats import Ewma, OutcomeWindow, RecentWindow, SignalStats

__all__ = [
    "AdminState",
    "BackendEntry",
    "BackendTable",
    "BreakerConfig",
    "BreakerState",
    "CircuitBreaker",
    "Ewma",
    "Outcome",
    "OutcomeWindow",
    "RecentWindow",
    "SignalStats",
    "TableConfig",
    "WorkerLoad",
    "classify",
    "parse_worker_load",
]
