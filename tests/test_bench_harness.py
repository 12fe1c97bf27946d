"""The benchmark harness: ratios, required minimums, broken cases reported not fatal."""
import json
import time

from dl4cv_tools import bench


def test_ratio_and_verdicts(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "_CASES", [])
    monkeypatch.setattr(bench, "SETTLE_S", 0.0)

    @bench.case("fast vs slow", min_ratio=1.5)
    def fast():
        return (lambda: time.sleep(0.001)), (lambda: time.sleep(0.004))

    @bench.case("slow vs fast", min_ratio=1.0)
    def slow():
        return (lambda: time.sleep(0.004)), (lambda: time.sleep(0.001))

    @bench.case("broken")
    def broken():
        raise RuntimeError("no input")

    (tmp_path / "bench_none.py").write_text("")
    code = bench.main(["--quick", "--out", str(tmp_path), str(tmp_path / "bench_none.py")])
    results = {r["name"]: r for r in json.loads((tmp_path / "bench.json").read_text())["results"]}
    assert code == 1
    assert results["fast vs slow"]["ratio"] > 2 and results["fast vs slow"]["pass"] is True
    assert results["slow vs fast"]["pass"] is False
    assert "RuntimeError" in results["broken"]["notes"]
    assert "| fast vs slow |" in (tmp_path / "bench.md").read_text()


def test_settle_pause_comes_before_every_timed_block(monkeypatch):
    """Each block of a pair starts after SETTLE_S of sleep (the other library's threads idle)."""
    events = []
    monkeypatch.setattr(bench.time, "sleep", lambda s: events.append(("sleep", s)))
    monkeypatch.setattr(bench, "_inner_count", lambda fn, warmup: 1)
    bench.time_pair(lambda: events.append(("call", "ours")), lambda: events.append(("call", "ref")),
                    repeats=2, warmup=0)
    assert events == [("sleep", bench.SETTLE_S), ("call", "ours"), ("sleep", bench.SETTLE_S),
                      ("call", "ref"), ("sleep", bench.SETTLE_S), ("call", "ref"),
                      ("sleep", bench.SETTLE_S), ("call", "ours")]


def test_numpy_blas_names_the_kernel_or_says_why_not():
    text = bench.numpy_blas()
    assert isinstance(text, str) and text
    assert "kernel" in text or text.startswith(("unknown", "none"))
