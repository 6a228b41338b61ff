"""MLLP framing: cutting a byte stream into payloads."""

from __future__ import annotations

import pytest

from ketadesk.sources.mllp import FrameTooLarge, MllpDeframer, frame


def test_frames_split_across_reads_and_joined_in_one() -> None:
    d = MllpDeframer(1000)
    stream = frame(b"MSH|one") + frame(b"MSH|two") + frame(b"MSH|three")
    got: list[bytes] = []
    for i in range(0, len(stream), 3):
        got += d.feed(stream[i:i + 3])
    assert got == [b"MSH|one", b"MSH|two", b"MSH|three"]
    assert MllpDeframer(1000).feed(stream) == [b"MSH|one", b"MSH|two", b"MSH|three"]


def test_junk_outside_frames_is_counted_and_dropped() -> None:
    d = MllpDeframer(1000)
    assert d.feed(b"\r\nnoise" + frame(b"MSH|a") + b"xy") == [b"MSH|a"]
    assert d.discarded_bytes == len(b"noise") + 2
    # The end block without the trailing CR still ends the frame.
    assert d.feed(b"\x0bMSH|b\x1c\x0bMSH|c\x1c\r") == [b"MSH|b", b"MSH|c"]


def test_frame_too_large_raises_with_head() -> None:
    d = MllpDeframer(100)
    with pytest.raises(FrameTooLarge) as info:
        d.feed(b"\x0bMSH|^~\\&|" + b"x" * 200)
    assert info.value.limit == 100 and info.value.head.startswith(b"MSH|")
    with pytest.raises(FrameTooLarge):
        MllpDeframer(100).feed(frame(b"y" * 101))
    assert MllpDeframer(100).feed(frame(b"y" * 100)) == [b"y" * 100]
