"""Valid/ready streams: a driver (source) and a monitor (sink), with idle/backpressure patterns.

Timing discipline (shared by every bench): inputs are written just after a
rising edge, and handshakes are observed in the ReadOnly phase of the same
cycle, when all combinational logic has settled.  A beat moves in a cycle
where both ``valid`` and ``ready`` are high.

Pattern generators are infinite iterators of booleans, one per cycle:
``True`` means "pause this cycle" (no new beat offered / ``ready`` low).
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from typing import Callable, Iterator

from cocotb import start_soon
from cocotb.triggers import ReadOnly, RisingEdge


def never() -> Iterator[bool]:
    """Never pause: full rate."""
    return itertools.repeat(False)


def random_pauses(rate: float, seed: int | None = None, burst: int = 1) -> Iterator[bool]:
    """Pause with probability ``rate`` per cycle; each pause lasts 1..``burst`` cycles."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"random_pauses: rate must lie in [0, 1), got {rate}")
    if burst < 1:
        raise ValueError(f"random_pauses: burst must be >= 1, got {burst}")
    rng = random.Random(seed)
    while True:
        if rng.random() < rate:
            for _ in range(rng.randint(1, burst)):
                yield True
        else:
            yield False


def rate_pauses(rate: float) -> Iterator[bool]:
    """A deterministic pattern with the fraction ``rate`` (0 < rate <= 1) of active cycles."""
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"rate_pauses: rate must lie in (0, 1], got {rate}")
    acc = 0.0
    while True:
        acc += rate
        if acc >= 1.0:
            acc -= 1.0
            yield False
        else:
            yield True


def periodic(on: int, off: int) -> Iterator[bool]:
    """``on`` cycles without pause, then ``off`` paused cycles, repeated."""
    if on < 1 or off < 0:
        raise ValueError(f"periodic: need on >= 1 and off >= 0, got {on}, {off}")
    return itertools.cycle([False] * on + [True] * off)


class StreamDriver:
    """Offers queued beats on ``valid`` + data signals; a beat leaves the queue when accepted.

    ``fields`` maps a beat key to the DUT signal it drives.  ``idle`` is a
    pause pattern consulted before offering each new beat (a beat once offered
    is held until accepted, as the protocol requires).
    """

    def __init__(self, clk, valid, ready, fields: dict, idle: Iterator[bool] | None = None):
        self.clk, self.valid, self.ready, self.fields = clk, valid, ready, fields
        self.idle = idle or never()
        self.queue: deque = deque()
        self.sent = 0
        self.cycles_offered = 0
        self._cur = None
        self.valid.value = 0
        self._task = start_soon(self._run())

    def send(self, beat: dict) -> None:
        missing = set(self.fields) - set(beat)
        if missing:
            raise ValueError(f"StreamDriver.send: beat lacks fields {sorted(missing)}")
        self.queue.append(beat)

    def flush(self) -> None:
        """Drop every queued beat and the one on the bus (used around a reset)."""
        self.queue.clear()
        self._cur = None
        self.valid.value = 0

    @property
    def busy(self) -> bool:
        return bool(self.queue) or self._cur is not None

    async def _run(self) -> None:
        while True:
            await RisingEdge(self.clk)
            if self._cur is None:
                if self.queue and not next(self.idle):
                    self._cur = self.queue.popleft()
                    for key, sig in self.fields.items():
                        sig.value = self._cur[key]
                    self.valid.value = 1
                else:
                    self.valid.value = 0
            await ReadOnly()
            if self._cur is not None:
                self.cycles_offered += 1
                if self.ready.value:
                    self._cur = None
                    self.sent += 1

    async def wait_done(self) -> None:
        """Wait until every queued beat has been accepted."""
        while self.busy:
            await RisingEdge(self.clk)


class StreamMonitor:
    """Accepts beats from ``valid`` + data signals, driving ``ready`` with a backpressure pattern.

    Each accepted beat (a dict of the fields' integer values) is appended to
    ``beats`` and passed to ``callback`` when given.
    """

    def __init__(self, clk, valid, ready, fields: dict, backpressure: Iterator[bool] | None = None,
                 callback: Callable[[dict], None] | None = None):
        self.clk, self.valid, self.ready, self.fields = clk, valid, ready, fields
        self.backpressure = backpressure or never()
        self.callback = callback
        self.beats: list[dict] = []
        self.ready.value = 0
        self._task = start_soon(self._run())

    def clear(self) -> None:
        self.beats.clear()

    async def _run(self) -> None:
        while True:
            await RisingEdge(self.clk)
            self.ready.value = 0 if next(self.backpressure) else 1
            await ReadOnly()
            if self.valid.value and self.ready.value:
                beat = {key: int(sig.value) for key, sig in self.fields.items()}
                self.beats.append(beat)
                if self.callback is not None:
                    self.callback(beat)

    async def wait_for(self, count: int) -> list[dict]:
        """Wait until ``count`` beats have been captured; returns them."""
        while len(self.beats) < count:
            await RisingEdge(self.clk)
        return self.beats[:count]
