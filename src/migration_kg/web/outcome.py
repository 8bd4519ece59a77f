"""What became of a request: its id and outcome, noted by whichever layer decided it.

The outermost middleware opens a ``RequestRecord`` per request (contextvar); admission, the
error mapping and the connection guard note why a request was refused or stopped, and the
access log and metrics read it once the response is out. Outcomes: ``ok`` (answered, whatever
the status), ``rejected`` (refused by a limit before evaluation), ``cancelled`` (evaluation
stopped: deadline, memory, heavy lane full) and ``client-gone`` (the client left first).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["ok", "rejected", "cancelled", "client-gone"]


@dataclass
class RequestRecord:
    """One request as the access log and metrics report it."""

    id: str
    client: str | None = None
    outcome: Outcome = "ok"
    reason: str | None = None


current_record: ContextVar[RequestRecord | None] = ContextVar("emk_request", default=None)


def note(outcome: Outcome, reason: str) -> None:
    """Record why the current request was refused or stopped (no-op outside a request)."""
    record = current_record.get()
    if record is not None:
        record.outcome, record.reason = outcome, reason
