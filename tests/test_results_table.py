"""RESULTS.md is generated, not typed: it must equal what dl4cv_tools.results renders from the
committed snapshot (examples/results.json) of a `make run` / `make bench`."""
import json

from dl4cv_tools import results


def test_results_file_matches_the_snapshot():
    snapshot = json.loads(results.SNAPSHOT.read_text())
    assert snapshot["notebooks"], "the snapshot lists no notebook"
    assert results.RESULTS.read_text() == results.document(snapshot), \
        "RESULTS.md is stale: run `python -m dl4cv_tools.results --update`"


def test_render_reports_every_figure_with_its_data_and_command():
    snap = {"notebooks": [{"notebook": "cs231n/assignment1/knn.ipynb", "status": "ok", "mode": "full",
                           "device": "cuda", "data": ["CIFAR-10 full: 50,000 train / 10,000 test images"],
                           "headline": {"best k": "10", "test accuracy": "0.282"}}],
            "bench": [{"name": "nms", "ratio": 0.5, "min_ratio": 0.3, "pass": True, "items_per_s": None}],
            "bench_meta": {"machine": "x86_64, 2 CPUs", "torch": "2.14.1"}}
    table = results.render(snap)
    rows = [l for l in table.splitlines() if l.startswith("| `cs231n")]
    assert len(rows) == 1 and "best k = 10; test accuracy = 0.282" in rows[0]
    assert "FULL=1" in rows[0] and "CIFAR-10 full" in rows[0] and "full, cuda" in rows[0]
    assert "| nms | 0.50x | >= 0.3x |" in table


def _row(notebook, mode, figure):
    return {"notebook": notebook, "status": "ok", "mode": mode, "device": "cpu", "data": [],
            "headline": {"figure": figure}, "runtime_s": 1.0}


def test_a_partial_run_replaces_only_its_own_rows(tmp_path):
    base = {"notebooks": [_row("b/x.ipynb", "smoke", "1"), _row("a/y.ipynb", "smoke", "2")],
            "bench": [{"name": "old case", "ratio": 1.0}], "bench_meta": {"machine": "old"}}
    (tmp_path / "report.json").write_text(json.dumps({"notebooks": [_row("b/x.ipynb", "full", "3")]}))
    merged = results.merge(base, results.snapshot_from_build(tmp_path))
    assert [(e["notebook"], e["mode"], e["headline"]["figure"]) for e in merged["notebooks"]] == [
        ("a/y.ipynb", "smoke", "2"), ("b/x.ipynb", "full", "3")]
    assert merged["bench"] == base["bench"], "a run without bench.json keeps the benchmark table"
