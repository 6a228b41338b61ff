"""The hand-over between a live source's worker threads and its `read()`.

A source whose device blocks (a socket listener, an SDC consumer) receives data on threads of
its own; `read()` runs on the UI tick and must never block. `Handover` is the one locked place
between the two: a bounded sample queue that drops the oldest samples (and counts them), a
bounded status queue, the connection state (a StatusEvent on every change), the time data last
arrived (for the stall watchdog) and problems reported once. `read()` then only calls
`check_stall(now, ...)` and `drain(now)`.

All times are session-clock seconds; the caller passes them in, so this class needs no clock.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable

from ketadesk.sources.base import (
    EMPTY_BATCH,
    ConnectionState,
    NumericSample,
    SampleBatch,
    StatusEvent,
)

STATUS_QUEUE = 1000  # status events held between two drains before the oldest are dropped


class Handover:
    """Thread-safe queue of samples and status events, plus the connection state.

    `name` starts every message ("HL7 queue full: ...") and log line ("HL7 source connected:
    ..."); `logger` is the source's own, so log lines keep naming the source's module.
    `count_status_drops`: whether status events dropped from a full status queue are counted
    and mentioned in the "queue full" message (else they are dropped silently).
    `max_reported`: how many distinct problem keys `report_once` remembers (None = no limit);
    a problem beyond the limit is only logged at debug level.
    """

    def __init__(self, name: str, queue_size: int, logger: logging.Logger, *,
                 count_status_drops: bool = True, max_reported: int | None = None,
                 status_size: int = STATUS_QUEUE) -> None:
        if queue_size < 1 or status_size < 1:
            raise ValueError(f"queue sizes must be at least 1, not {queue_size}/{status_size}")
        self._name = name
        self._log = logger
        self._queue_size = queue_size
        self._status_size = status_size
        self._count_status_drops = count_status_drops
        self._max_reported = max_reported
        self._lock = threading.Lock()
        self._samples: deque[NumericSample] = deque()
        self._status: deque[StatusEvent] = deque()
        self._dropped = 0
        self._dropped_status = 0
        self._state = ConnectionState.DISCONNECTED
        self._last_data_t: float | None = None
        self._reported: set[str] = set()

    @property
    def state(self) -> ConnectionState:
        with self._lock:
            return self._state

    @property
    def last_data_t(self) -> float | None:
        """When data last showed the link alive (see put_samples); None = never."""
        with self._lock:
            return self._last_data_t

    # --- worker side ----------------------------------------------------------------------

    def put_samples(self, samples: Iterable[NumericSample], data_t: float | None = None) -> None:
        """Queue samples, dropping the oldest queued ones beyond queue_size (counted).

        `data_t`: the link showed itself alive at this time (resets the stall watchdog); the
        source decides what counts (an accepted message, a non-empty update).
        """
        with self._lock:
            for sample in samples:
                if len(self._samples) >= self._queue_size:
                    self._samples.popleft()
                    self._dropped += 1
                self._samples.append(sample)
            if data_t is not None:
                self._last_data_t = data_t

    def put_status(self, event: StatusEvent) -> None:
        with self._lock:
            self._put_status_locked(event)

    def set_state(self, state: ConnectionState, detail: str, t_s: float, *, force: bool = False,
                  only_from: ConnectionState | None = None) -> bool:
        """Change the connection state and queue a "connection" status event; True if changed.

        Nothing happens if the state is already `state` (unless `force`: the event is queued
        again, e.g. to say why it stays disconnected) or, with `only_from`, if the current
        state is another one (checked and changed in one step).
        """
        with self._lock:
            if only_from is not None and self._state is not only_from:
                return False
            return self._set_state_locked(state, detail, t_s, force)

    def report_once(self, key: str, detail: str, t_s: float, channel: str | None = None) -> bool:
        """A warning and a "message" status event the first time `key` is seen, then only debug.

        A sender repeating the same fault every second must not flood the log or the screen.
        Returns whether it was new.
        """
        with self._lock:
            new = key not in self._reported and (
                self._max_reported is None or len(self._reported) < self._max_reported)
            if new:
                self._reported.add(key)
                self._put_status_locked(StatusEvent(t_s, "message", channel, detail))
        if new:
            self._log.warning("%s", detail)
        else:
            self._log.debug("%s", detail)
        return new

    # --- read() side ----------------------------------------------------------------------

    def check_stall(self, now: float, stall_s: float, silence: str) -> bool:
        """CONNECTED with no data for more than stall_s -> STALLED; True if it changed now.

        The event detail is `silence` (e.g. "no metric update") with the time and the limit.
        """
        with self._lock:
            last = self._last_data_t
            if (self._state is not ConnectionState.CONNECTED or last is None
                    or now - last <= stall_s):
                return False
            return self._set_state_locked(
                ConnectionState.STALLED,
                f"{silence} for {now - last:.0f} s (limit {stall_s:g} s)", now, force=False)

    def drain(self, now: float) -> SampleBatch:
        """Everything queued since the last drain (and a note if some was dropped), then empty."""
        with self._lock:
            if self._dropped or (self._count_status_drops and self._dropped_status):
                self._status.append(StatusEvent(now, "message", None, self._overflow_text()))
                self._dropped = self._dropped_status = 0
            if not self._samples and not self._status:
                return EMPTY_BATCH
            batch = SampleBatch(numerics=tuple(self._samples), status=tuple(self._status))
            self._samples.clear()
            self._status.clear()
        return batch

    # --- internals (lock held) ------------------------------------------------------------

    def _put_status_locked(self, event: StatusEvent) -> None:
        if len(self._status) >= self._status_size:
            self._status.popleft()
            self._dropped_status += 1
        self._status.append(event)

    def _set_state_locked(self, state: ConnectionState, detail: str, t_s: float,
                          force: bool) -> bool:
        if state is self._state and not force:
            return False
        self._state = state
        self._put_status_locked(StatusEvent(t_s, "connection", None, f"{state.value}: {detail}"))
        self._log.info("%s source %s: %s", self._name, state.value, detail)
        return True

    def _overflow_text(self) -> str:
        if not self._count_status_drops:
            self._log.warning("%s queue overflow: dropped %d samples", self._name, self._dropped)
            return f"{self._name} queue full: dropped {self._dropped} oldest samples"
        self._log.warning("%s queue overflow: dropped %d samples, %d status events",
                          self._name, self._dropped, self._dropped_status)
        return (f"{self._name} queue full: dropped {self._dropped} oldest samples and "
                f"{self._dropped_status} status events (read() too slow?)")
