"""Run the benchmarks and print one JSON object."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ketadesk.bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer repetitions (under 60 s)")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ketadesk.bench import alarm_latency, live, review

    t0 = time.perf_counter()
    results: dict[str, object] = {"quick": args.quick, "python": sys.version.split()[0]}
    results["ingest"] = live.bench_ingest(args.quick)
    results["live_frame"] = live.bench_frames(args.quick)
    results["alarm_latency"] = alarm_latency.bench_alarm_latency(args.quick)
    results["review"] = review.bench_review(args.quick)
    results["total_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
