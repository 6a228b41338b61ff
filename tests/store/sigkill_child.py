"""Child process for the SIGKILL test: records synthetic seconds as fast as it can and prints
`committed_t_s` after every commit, until it is killed. Usage: sigkill_child.py DIRECTORY"""

from __future__ import annotations

import sys

from recording_helpers import CHUNKS_PER_S, make_meta, second_batches

from ketadesk.store.recording import RecordingWriter


def main() -> None:
    w = RecordingWriter.create_in(sys.argv[1], make_meta())
    print(f"path {w.path}", flush=True)
    # One commit at 0.5 s puts every later commit in the middle of a second, so the newest
    # waveform row of each channel is half full (stored, then extended) when the kill lands.
    w.flush(0.5, force=True)
    for k in range(100_000):
        for j, batch in enumerate(second_batches(k)):
            w.add_batch(batch)
            if w.flush(k + (j + 1) / CHUNKS_PER_S):
                print(f"committed {w.committed_t_s!r}", flush=True)


if __name__ == "__main__":
    main()
