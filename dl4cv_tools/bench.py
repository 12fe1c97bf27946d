"""Benchmark harness: our implementation against the reference, same input, same process.

A benchmark file `benchmarks/bench_<area>.py` declares cases:

    from dl4cv_tools.bench import case

    @case("knn: compute_distances_no_loops vs torch.cdist (500x5000x3072, f64)", min_ratio=0.8)
    def knn_no_loops():
        ...build inputs once...
        return (lambda: ours(...)), (lambda: torch.cdist(...))

The function returns (ours, reference): zero-argument callables; reference may be None for a
plain timing. `items=N` reports N / median time as items per second (e.g. images/s).
`ratio` = reference time / our time (our throughput relative to the reference); a case with
`min_ratio` fails when ratio < min_ratio. Timing is pyperf-style: warm-up calls, then
`repeats` timed blocks of `inner` calls each, ours and the reference alternating; medians
reported, and the ratio is the median of the per-round ratios.

    python -m dl4cv_tools.bench [benchmarks/bench_x.py ...] [--filter TEXT] [--quick]
"""
import argparse
import importlib.util
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dl4cv.paths import REPO_ROOT, build_dir

_CASES = []


@dataclass
class Case:
    name: str
    make: callable
    min_ratio: float = None
    items: int = None
    repeats: int = 7
    warmup: int = 2
    source: str = ""
    notes: str = ""


def case(name, min_ratio=None, items=None, repeats=7, warmup=2, notes=""):
    def register(fn):
        _CASES.append(Case(name, fn, min_ratio, items, repeats, warmup,
                           source=Path(fn.__code__.co_filename).name, notes=notes))
        return fn
    return register


def _inner_count(fn, warmup):
    """Warm `fn` up, then pick how many calls make one timed block of about 50 ms."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    return max(1, int(0.05 / once)) if once > 0 else 1000


def _block(fn, inner):
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def time_call(fn, repeats=7, warmup=2):
    """Median seconds of one call, after `warmup` untimed calls; short calls are batched."""
    inner = _inner_count(fn, warmup)
    return statistics.median(_block(fn, inner) for _ in range(repeats))


# Seconds to wait before each timed block of a pair. After a call, OpenBLAS's worker threads
# (numpy) spin for about 0.1 s and OpenMP's (torch) for a while too before they sleep: a block
# started at once shares the cores with the other library's spinning threads. Measured on the
# 2-core machine without this wait: torch's small float32 convolution took 69 ms right after
# ours instead of 4 ms on its own.
SETTLE_S = 0.2


def time_pair(ours, reference, repeats=7, warmup=2):
    """(our median s, reference median s, ratio): blocks of the two alternate, and the ratio
    is the median of the per-round ratios, so a load spike on a shared machine hits both
    sides of a round instead of one side of the whole comparison."""
    inner_ours, inner_ref = _inner_count(ours, warmup), _inner_count(reference, warmup)
    t_ours, t_ref = [], []
    for i in range(repeats):
        # alternate which side goes first so neither always runs on a warmer cache
        pair = [(ours, inner_ours, t_ours), (reference, inner_ref, t_ref)]
        for fn, inner, out in (pair if i % 2 == 0 else pair[::-1]):
            time.sleep(SETTLE_S)
            out.append(_block(fn, inner))
    ratio = statistics.median(r / o for o, r in zip(t_ours, t_ref))
    return statistics.median(t_ours), statistics.median(t_ref), ratio


def run_case(c: Case, quick=False):
    repeats, warmup = (3, 1) if quick else (c.repeats, c.warmup)
    ours, reference = c.make()
    if reference is None:
        t_ours, t_ref, ratio = time_call(ours, repeats, warmup), None, None
    else:
        t_ours, t_ref, ratio = time_pair(ours, reference, repeats, warmup)
    ok = None if c.min_ratio is None or ratio is None else ratio >= c.min_ratio
    return {"name": c.name, "source": c.source, "ours_s": t_ours, "reference_s": t_ref,
            "ratio": ratio, "min_ratio": c.min_ratio, "pass": ok, "notes": c.notes,
            "items_per_s": (c.items / t_ours) if c.items else None}


def numpy_blas():
    """numpy's BLAS as 'openblas 0.3.31, SkylakeX kernel, 2 threads' (threadpoolctl), or why not."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    import numpy  # noqa: F401  (loads its BLAS, so that threadpoolctl can see it)
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"{i['internal_api']} {i.get('version')}, {i.get('architecture')} kernel, "
                     f"{i['num_threads']} threads" for i in libs) or "none found"


def load_files(paths):
    for path in paths:
        spec = importlib.util.spec_from_file_location(f"bench_{Path(path).stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def _fmt_s(s):
    if s is None:
        return "-"
    return f"{s * 1e3:.3f} ms" if s < 1 else f"{s:.3f} s"


def to_markdown(results, meta):
    lines = [f"# Benchmarks", "", f"{meta['machine']}; torch {meta['torch']}, numpy {meta['numpy']} "
             f"({meta.get('numpy_blas', 'BLAS unknown')}); {meta['threads']} torch threads; "
             f"`make bench` on {meta['date']}.", "",
             "| case | ours | reference | ratio (ref/ours) | required | result | throughput |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "-"
        need = f">= {r['min_ratio']}x" if r["min_ratio"] else "-"
        verdict = {True: "pass", False: "**FAIL**", None: "-"}[r["pass"]]
        thr = f"{r['items_per_s']:.1f}/s" if r["items_per_s"] else "-"
        lines.append(f"| {r['name']} | {_fmt_s(r['ours_s'])} | {_fmt_s(r['reference_s'])} | "
                     f"{ratio} | {need} | {verdict} | {thr} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dl4cv-bench")
    parser.add_argument("files", nargs="*")
    parser.add_argument("--filter", default="")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke check)")
    parser.add_argument("--out", default=None, help="folder for bench.md/bench.json (default build/)")
    args = parser.parse_args(argv)
    files = args.files or sorted((REPO_ROOT / "benchmarks").glob("bench_*.py"))
    load_files(files)
    # Under `python -m dl4cv_tools.bench` this file is __main__; the benchmark files register their
    # cases on the importable dl4cv_tools.bench module.
    import dl4cv_tools.bench as registry
    import numpy
    import torch
    from tqdm import tqdm
    selected = [c for c in registry._CASES if args.filter.lower() in c.name.lower()]
    results = []
    for c in tqdm(selected, desc="bench", file=sys.stderr):
        try:
            results.append(run_case(c, args.quick))
        except Exception as e:  # one broken case must not hide the others
            results.append({"name": c.name, "source": c.source, "ours_s": None, "reference_s": None,
                            "ratio": None, "min_ratio": c.min_ratio, "pass": False,
                            "notes": f"error: {type(e).__name__}: {e}", "items_per_s": None})
    meta = {"machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPUs",
            "torch": torch.__version__, "numpy": numpy.__version__,
            "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
            "numpy_blas": numpy_blas()}
    out = Path(args.out) if args.out else build_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    md = to_markdown(results, meta)
    (out / "bench.md").write_text(md)
    print(md)
    failed = [r["name"] for r in results if r["pass"] is False]
    if failed:
        print(f"{len(failed)} benchmark(s) below their required ratio: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
