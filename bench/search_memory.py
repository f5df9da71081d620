#!/usr/bin/env python
"""A web process's memory, stage by stage, over a work folder kept by bench/search_speed.py (--keep/--reuse).

    .venv/bin/python bench/search_memory.py DIR --archive            # this tree's code
    cd OTHER && PYTHONPATH=OTHER .venv/bin/python …/bench/search_memory.py DIR --archive   # another tree's

One process (the app as gunicorn loads it) serves the bench's warm-up, its default searches, with --archive the
first 150 again with include_past, then builds the suggestion lists and serves every prefix, printing RSS (and
how much of it is anonymous, the process's own, and mapped files) after each stage, with the CPU seconds of
each. --trace adds tracemalloc's largest Python allocations at the end. Run two trees one after the other on
the same folder to compare them (docs/search.md, "Memory").
"""

import gc
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def mem():
    out = {}
    with open("/proc/self/smaps_rollup") as h:
        for line in h:
            p = line.split()
            if len(p) >= 3 and p[0].endswith(":"):
                out[p[0][:-1]] = int(p[1]) // 1024
    return f"RSS {out['Rss']} anon {out['Anonymous']} file {out['Rss'] - out['Anonymous']} MB"


def main():
    workdir = Path(sys.argv[1])
    trace = "--trace" in sys.argv
    if trace:
        import tracemalloc

        tracemalloc.start(8)
    from search_speed import _app, _search_params

    from search.engine import search, suggest

    lists = json.loads((workdir / "queries.json").read_text(encoding="utf-8"))
    app = _app(workdir)
    print("app", mem(), flush=True)
    with app.app_context():
        t = time.perf_counter()
        for item in lists["warmup"]:
            search(_search_params(item))
        print("warmup", mem(), f"{time.perf_counter() - t:.1f}s", flush=True)
        times = []
        c1 = time.process_time()
        for item in lists["queries"]:
            t = time.perf_counter()
            search(_search_params(item))
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(
            "default",
            mem(),
            f"p50 {times[len(times) // 2]:.1f} p95 {times[int(len(times) * 0.95)]:.1f} sum {sum(times) / 1000:.1f}s cpu {time.process_time() - c1:.1f}s",
            flush=True,
        )
        if "--archive" in sys.argv:
            c2 = time.process_time()
            for item in lists["queries"][:150]:
                search(_search_params({**item, "include_past": True}))
            print("archive", mem(), f"cpu {time.process_time() - c2:.1f}s", flush=True)
        suggest(lists["prefixes"][0], 10)
        print("suggest built", mem(), flush=True)
        t = time.perf_counter()
        c3 = time.process_time()
        for p in lists["prefixes"]:
            suggest(p, 10)
        print("suggest", mem(), f"{time.perf_counter() - t:.1f}s cpu {time.process_time() - c3:.2f}s", flush=True)
        gc.collect()
        print("gc", mem(), flush=True)
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
        print("malloc_trim", mem(), flush=True)
        if trace:
            snap = tracemalloc.take_snapshot()
            for stat in snap.statistics("traceback")[:25]:
                print(f"{stat.size / 1e6:8.1f} MB {stat.count:8d}")
                for line in stat.traceback.format()[-6:]:
                    print("     ", line)


main()
