from __future__ import annotations

import pytest

from ketadesk.core.clock import FakeClock, MonotonicClock, ScaledClock


def test_fake_clock_refuses_to_go_back() -> None:
    c = FakeClock()
    c.advance(5)
    with pytest.raises(ValueError, match="cannot go back"):
        c.set(1)


def test_wall_jump_does_not_move_monotonic_time() -> None:
    c = FakeClock()
    c.advance(100)
    c.wall_offset_s = -3600 * 5  # someone sets the wall clock back five hours
    assert c.now() == 100
    assert c.wall_time().hour == 4  # 09:00 + 100 s - 5 h


def test_scaled_clock_speed_change_and_pause_have_no_jump() -> None:
    base = FakeClock()
    sc = ScaledClock(base, 10)
    base.advance(2)
    assert sc.now() == 20
    sc.set_speed(60)
    assert sc.now() == 20
    base.advance(1)
    assert sc.now() == 80
    sc.pause()
    base.advance(100)
    assert sc.now() == 80
    sc.resume()
    base.advance(1)
    assert sc.now() == 140


def test_monotonic_clock_starts_near_zero() -> None:
    assert 0 <= MonotonicClock().now() < 1.0


def test_scaled_clock_refuses_zero_speed() -> None:
    with pytest.raises(ValueError, match="speed must be > 0"):
        ScaledClock(FakeClock(), 0)
