from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ketadesk.core.buffer import BufferSet, RingBuffer


def test_window_returns_samples_in_time_range() -> None:
    rb = RingBuffer(100)
    rb.extend(np.arange(10.0), np.arange(10.0) * 2)
    t, v = rb.window(2.0, 4.0)
    assert t.tolist() == [2.0, 3.0, 4.0]
    assert v.tolist() == [4.0, 6.0, 8.0]


@given(chunks=st.lists(st.integers(min_value=0, max_value=30), max_size=40),
       capacity=st.integers(min_value=1, max_value=25))
def test_ring_keeps_exactly_the_newest_capacity_samples(chunks: list[int], capacity: int) -> None:
    rb = RingBuffer(capacity)
    written: list[float] = []
    for n in chunks:
        t = np.arange(len(written), len(written) + n, dtype=float)
        rb.extend(t, -t)
        written += t.tolist()
    t, v = rb.window(-1.0, 1e9)
    assert t.tolist() == written[-capacity:]
    assert v.tolist() == [-x for x in written[-capacity:]]
    assert len(rb) == min(capacity, len(written))


def test_single_appends_and_extend_agree() -> None:
    a, b = RingBuffer(7), RingBuffer(7)
    for i in range(23):
        a.append(float(i), float(i))
    b.extend(np.arange(23.0), np.arange(23.0))
    assert a.window(0, 100)[0].tolist() == b.window(0, 100)[0].tolist()
    assert a.last() == (22.0, 22.0)


def test_bufferset_unknown_channel_is_empty_not_an_error() -> None:
    bs = BufferSet({"hr": 10})
    t, v = bs.series("nope", 0, 10)
    assert len(t) == len(v) == 0
    assert bs.time_span() == (0.0, 0.0)
