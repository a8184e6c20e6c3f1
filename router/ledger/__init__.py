"""The usage ledger: one row per request, written in batches off the request path."""

from router.ledger.record import RequestRecord
from router.ledger.writer import LedgerWriter

__all__ = ["LedgerWriter", "RequestRecord"]
