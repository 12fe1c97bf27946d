"""RESULTS.md is generated, not typed: its notebook rows are read from the published notebooks
(stamp + printed `[dl4cv]` records), so the table and the notebooks cannot disagree."""
import json

import nbformat

from dl4cv_tools import results
from dl4cv_tools.stamp import stamp_notebook


def test_results_file_and_snapshot_match_the_published_notebooks():
    snapshot = json.loads(results.SNAPSHOT.read_text())
    assert snapshot["notebooks"], "the snapshot lists no notebook"
    assert snapshot["notebooks"] == results.notebook_rows(previous=snapshot["notebooks"]), \
        "examples/results.json differs from the published notebooks: run `make results`"
    assert results.RESULTS.read_text() == results.document(snapshot), \
        "RESULTS.md is stale: run `make results`"


def test_a_row_is_read_from_the_notebook_stamp_and_its_records(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("train()")
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "[dl4cv:data] CIFAR-10 subset: 5,170 train / 1,017 test images\n"
        "[dl4cv] test accuracy = 0.282\nsome other line\n"))]
    nb.cells = [cell]
    stamp_notebook(nb, mode="full", device="cuda", data=["CIFAR-10 full"], commit="0123456789abcdef",
                   runtime_s=61.4, modules={})
    (tmp_path / "a").mkdir()
    nbformat.write(nb, str(tmp_path / "a" / "x.ipynb"))
    (tmp_path / "a" / "unpublished.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path)
    earlier = [{"notebook": "a/unpublished.ipynb", "status": "ok", "mode": "full", "device": "cpu",
                "data": [], "headline": {"accuracy": "0.7"}, "runtime_s": 9.0}]
    rows = results.notebook_rows(["a/x.ipynb", "a/unpublished.ipynb"], previous=earlier)
    assert rows[1] == dict(earlier[0], published=False), "an unpublished notebook keeps its figures"
    assert "not yet published" in results.render({"notebooks": rows[1:], "bench": []})
    rows = rows[:1]
    assert rows == [{"notebook": "a/x.ipynb", "status": "ok", "mode": "full", "device": "cuda",
                     "data": ["CIFAR-10 full"], "headline": {"test accuracy": "0.282"},
                     "runtime_s": 61.4, "commit": "0123456789ab"}]
    table = results.render({"notebooks": rows, "bench": []})
    assert "| `a/x.ipynb` | test accuracy = 0.282 | CIFAR-10 full | full, cuda, 61 s, `0123456789ab` |" \
        " `make publish NB=a/x.ipynb` |" in table


def test_a_commit_with_uncommitted_changes_says_so_in_short():
    assert results.short_commit("0c31ee561a8ef8c471cecd827fe77d629b8d230d+changes") == "0c31ee561a8e+changes"
    assert results.short_commit("0c31ee561a8ef8c471cecd827fe77d629b8d230d") == "0c31ee561a8e"


def test_render_reports_the_benchmarks_with_their_required_ratio():
    snap = {"notebooks": [], "bench": [{"name": "nms", "ratio": 0.5, "min_ratio": 0.3, "pass": True,
                                        "items_per_s": None}],
            "bench_meta": {"machine": "x86_64, 2 CPUs", "torch": "2.14.1"}}
    assert "| nms | 0.50x | >= 0.3x |" in results.render(snap)


def test_benchmark_rows_come_from_the_last_bench_run(tmp_path):
    assert results.bench_from_build(tmp_path) == {}, "a folder without bench.json changes nothing"
    (tmp_path / "bench.json").write_text(json.dumps({
        "results": [{"name": "conv", "ratio": 1.1, "min_ratio": 0.5, "pass": True, "items_per_s": 9.0}],
        "meta": {"machine": "m"}}))
    assert results.bench_from_build(tmp_path)["bench"][0]["ratio"] == 1.1
