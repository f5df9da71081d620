#!/usr/bin/env python
"""Feed parser benchmark: records per second and memory of each parser over a large file (no database).

    .venv/bin/python bench/feed_parsers.py                  # 60,000 XML runs, 30,000 CSV/JSON records
    .venv/bin/python bench/feed_parsers.py --xml 6000 --generic 3000

For each format (HRD-Net XML, CSV, JSON Lines, JSON array) it writes a small and a large file (a tenth and the
full size; tests/support/feed_files.py writes them), then prints:
  records/s      records of the large file ÷ CPU seconds of one untraced parse
  Python peak    tracemalloc's peak while parsing the small file → the large file (flat when streaming)
  peak RSS       XML only: a fresh process's peak RSS (VmHWM) parsing each file; it also covers libxml2's tree

Figures, not pass/fail: tests/courses/test_parsers.py asserts the memory stays flat on smaller files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MiB = 1 << 20


def cpu_rate(parse, path: Path) -> tuple[int, float]:
    """(records, records per CPU second) for one parse without tracing."""
    started = time.process_time()
    with path.open("rb") as handle:
        count = sum(1 for _ in parse(handle, source="bench"))
    return count, count / max(time.process_time() - started, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xml", type=int, default=60_000, help="runs in the large XML file (default 60,000)")
    parser.add_argument("--generic", type=int, default=30_000, help="records in the large CSV/JSON files")
    args = parser.parse_args()

    from courses.ingest import generic_csv, generic_json, hrdnet_xml
    from tests.support import feed_files as files

    formats = [
        ("HRD-Net XML", files.write_xml, hrdnet_xml.parse, args.xml),
        ("CSV", files.write_csv, generic_csv.parse, args.generic),
        ("JSON Lines", files.write_json_lines, generic_json.parse, args.generic),
        ("JSON array", files.write_json_array, generic_json.parse, args.generic),
    ]
    print(f"python {sys.version.split()[0]}; CPU time, no tracing; the small file is a tenth of the large one")
    print(f"  {'format':<12} {'records':>8} {'MiB':>5} {'records/s':>10}   Python peak, small → large   peak RSS")
    with tempfile.TemporaryDirectory(prefix="bench-feeds-") as folder:
        for name, write, parse, count in formats:
            small = write(Path(folder) / f"small-{name}", count // 10)
            large = write(Path(folder) / f"large-{name}", count)
            with small.open("rb") as handle:  # warm the reference-data caches outside the measurement
                next(parse(handle, source="bench"), None)
            _, peak_small = files.traced_peak(parse, small)
            _, peak_large = files.traced_peak(parse, large)
            records, rate = cpu_rate(parse, large)
            rss = ""
            if parse is hrdnet_xml.parse and Path("/proc/self/status").exists():
                (_, rss_small), (_, rss_large) = files.child_peak_rss_kib(small), files.child_peak_rss_kib(large)
                rss = f"{rss_small / 1024:.0f} → {rss_large / 1024:.0f} MiB"
            line = (
                f"  {name:<12} {records:>8,} {large.stat().st_size / MiB:>5.0f} {rate:>10,.0f}   "
                f"{peak_small / MiB:>5.2f} → {peak_large / MiB:.2f} MiB{'':<14}{rss}"
            )
            print(line.rstrip())
            small.unlink()
            large.unlink()


if __name__ == "__main__":
    main()
