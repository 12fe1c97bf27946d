"""The benchmark harness: ratios, required minimums, broken cases reported not fatal."""
import json
import time

from dl4cv_tools import bench


def test_ratio_and_verdicts(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "_CASES", [])

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
