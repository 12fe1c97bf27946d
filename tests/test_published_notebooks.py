"""The committed notebooks show a full run of their current code (dl4cv_tools.publish), and
every figure an answer quotes is one printed above it.

A notebook fails here when it has no full-mode stamp, when its code cells are not the ones that
ran, or when its outputs hold an error; `make publish NB=<notebook>` fixes all three. When a
repository file it imported changed after publishing, the test warns (the outputs may no longer
be what the code prints) with the same command."""
import base64
import io
import warnings

import nbformat
import pytest

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest
from dl4cv_tools.answer_figures import backs, quoted_figures, unbacked_figures
from dl4cv_tools.execute import read_notebook
from dl4cv_tools.publish import NOT_YET_PUBLISHED, republish_command
from dl4cv_tools.stamp import (LOG_KEEP, MAX_LOG_LINES, code_hash, file_hash, freshness_problems,
                               module_digest, module_drift, slim_outputs, smaller_png,
                               stamp_notebook)

NOTEBOOKS = manifest.notebooks()


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_committed_notebook_is_a_fresh_full_run(rel):
    nb = read_notebook(REPO_ROOT / rel)
    if rel in NOT_YET_PUBLISHED:
        assert "dl4cv" not in nb.metadata, f"{rel} is published: take it out of NOT_YET_PUBLISHED"
        pytest.skip(f"not yet published: {NOT_YET_PUBLISHED[rel]}")
    problems = freshness_problems(nb)
    assert not problems, f"{rel}: {'; '.join(problems)}. Republish: {republish_command(rel)}"
    changed = module_drift(nb, REPO_ROOT)
    if changed:
        warnings.warn(f"{rel}: {', '.join(changed)} changed after it was published; "
                      f"republish: {republish_command(rel)}", stacklevel=1)


@pytest.mark.parametrize("rel", [nb for nb in NOTEBOOKS if nb not in NOT_YET_PUBLISHED])
def test_answers_quote_only_figures_printed_above_them(rel):
    missing = unbacked_figures(read_notebook(REPO_ROOT / rel))
    assert not missing, f"{rel}: answer figures no output above them prints: " + ", ".join(
        f"cell {cell}: {figure}" for cell, figure in missing)


def test_only_manifest_notebooks_wait_for_publishing():
    assert set(NOT_YET_PUBLISHED) <= set(NOTEBOOKS)
    assert all(len(why) > 20 for why in NOT_YET_PUBLISHED.values()), "say why it waits"


# --- the checks themselves, on small notebooks made here ---------------------------------------
def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('accuracy', 0.4376)"),
                nbformat.v4.new_markdown_cell("**Your Answer:** the run above reached 0.44 (43.8%).",
                                              metadata={"tags": ["answer"]})]
    cell = nb.cells[0]
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.4376\n")]
    stamp_notebook(nb, mode="full", device="cpu", data=["CIFAR-10 subset"], commit="abc",
                   runtime_s=1.0, modules={})
    return nb


def test_a_stamped_run_is_fresh_and_an_edited_code_cell_is_stale():
    nb = _notebook()
    assert freshness_problems(nb) == []
    nb.cells[1].source += " More words."            # answers may change without a rerun
    assert freshness_problems(nb) == []
    nb.cells[0].source = "print('accuracy', 0.5)"   # the outputs no longer come from this code
    assert any("not the ones that ran" in p for p in freshness_problems(nb))


def test_missing_stamp_smoke_mode_errors_and_unrun_cells_are_problems():
    nb = _notebook()
    del nb.metadata["dl4cv"]
    assert freshness_problems(nb) == ["it has no publishing stamp (metadata['dl4cv'])"]
    nb = _notebook()
    nb.metadata["dl4cv"]["mode"] = "smoke"
    assert any("'smoke' mode" in p for p in freshness_problems(nb))
    nb = _notebook()
    nb.cells[0].outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="bad",
                                                      traceback=[]))
    assert any("ValueError: bad" in p for p in freshness_problems(nb))
    nb = _notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    stamp_notebook(nb, mode="full", device="cpu", data=[], commit="abc", runtime_s=1, modules={})
    assert any("never ran" in p for p in freshness_problems(nb))


def test_a_changed_module_is_reported(tmp_path):
    module = tmp_path / "layers.py"
    module.write_text("def f():\n    return 1\n")
    nb = _notebook()
    stamp_notebook(nb, mode="full", device="cpu", data=[], commit="abc", runtime_s=1,
                   modules={"layers.py": file_hash(module), "gone.py": "0" * 64})
    assert module_drift(nb, tmp_path) == ["gone.py"]
    module.write_text("def f():\n    return 2\n")
    assert module_drift(nb, tmp_path) == ["gone.py", "layers.py"]   # sorted by path


def test_the_registry_drifts_only_when_an_entry_the_notebook_had_changes(tmp_path):
    """Adding a data set to dl4cv/data/registry.py leaves notebooks that read the registry fresh;
    changing or removing one that was there when they ran does not."""
    real = (REPO_ROOT / "dl4cv" / "data" / "registry.py").read_text()
    registry = tmp_path / "dl4cv" / "data" / "registry.py"
    registry.parent.mkdir(parents=True)
    registry.write_text(real)
    digests = module_digest(tmp_path, "dl4cv/data/registry.py")
    assert {"cifar10", "mnist"} <= set(digests) and len(set(digests.values())) == len(digests)
    nb = _notebook()
    stamp_notebook(nb, mode="full", device="cpu", data=[], commit="abc", runtime_s=1,
                   modules={"dl4cv/data/registry.py": digests})
    added = real + ('\nDATASETS["extra"] = Dataset("extra", "a new data set", '
                    '(Item("x.bin", "x.bin", ("https://example.org/x.bin",), None),))\n')
    registry.write_text(added)
    assert module_drift(nb, tmp_path) == []
    registry.write_text(real.replace("md5:c58f30108f718f92721af3b95e74349a", "md5:" + "0" * 32))
    assert module_drift(nb, tmp_path) == ["dl4cv/data/registry.py"]       # cifar10 changed
    registry.write_text(added.replace('Dataset("mnist"', 'Dataset("mnist_gone"'))
    assert module_drift(nb, tmp_path) == ["dl4cv/data/registry.py"]       # mnist removed


def test_code_hash_sees_order_and_content_of_code_cells_only():
    nb = _notebook()
    before = code_hash(nb)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# Title"))
    assert code_hash(nb) == before
    nb.cells.append(nbformat.v4.new_code_cell(""))
    assert code_hash(nb) != before


def test_answer_figures_must_be_printed_above():
    nb = _notebook()
    assert quoted_figures(nb.cells[1].source) == ["0.44", "43.8%"]
    assert unbacked_figures(nb) == []
    nb.cells[1].source = "**Your Answer:** it reached 0.47, with $\\ln 10 \\approx 2.30$ at the start."
    assert unbacked_figures(nb) == [(2, "0.47")]          # formulas are not quoted figures
    # a figure printed only *below* the answer does not back it
    nb.cells.append(nbformat.v4.new_code_cell("print(0.47)"))
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.47\n")]
    assert unbacked_figures(nb) == [(2, "0.47")]


@pytest.mark.parametrize("printed, quoted, ok", [
    (0.4376, "0.44", True), (0.4376, "0.438", True), (0.4376, "43.8%", True), (0.4376, "44%", True),
    (0.4376, "0.43", False), (0.4376, "43%", False), (2.2e-9, "2e-9", True), (3.1e-9, "2e-9", False),
    (1e-3, "1e-3", True), (0.25, "0.25", True), (0.249, "0.25", True), (0.2449, "0.25", False),
])
def test_a_printed_number_backs_a_figure_at_its_quoted_precision(printed, quoted, ok):
    assert backs(printed, quoted) is ok


def test_slim_outputs_cuts_long_logs_keeps_the_last_progress_state_and_drops_widgets():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("train()")
    log = "".join(f"iteration {i}\n" if i != 100 else "[dl4cv] loss at 100 = 0.5\n" for i in range(200))
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="10%\r50%\r100% done\n"),
                    nbformat.v4.new_output("stream", name="stdout", text=log[:500]),
                    nbformat.v4.new_output("stream", name="stdout", text=log[500:]),
                    nbformat.v4.new_output("display_data", data={
                        "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                        "text/plain": "HBox()"})]
    cell.metadata["execution"] = {"iopub.execute_input": "2026-12-02T10:00:00"}
    nb.cells = [cell]
    slim_outputs(nb, full_log="build/publish/notebooks/x.ipynb")
    stderr, stdout = cell.outputs             # the widget (a bar's first state as text) is gone
    assert stderr["text"] == "100% done\n"
    lines = stdout["text"].splitlines()
    assert len(lines) == 2 * LOG_KEEP + 2 and 200 > MAX_LOG_LINES
    assert lines[0] == "iteration 0" and lines[-1] == "iteration 199"
    assert "149 lines cut" in lines[LOG_KEEP] and "build/publish/notebooks/x.ipynb" in lines[LOG_KEEP]
    assert lines[LOG_KEEP + 1] == "[dl4cv] loss at 100 = 0.5"    # records survive the cut
    assert "execution" not in cell.metadata


def test_a_progress_bar_redrawn_between_prints_keeps_only_its_last_state():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("search()")
    bar = "lr x reg: {:3d}%|{}| {}/4 [00:0{}<00:00, 1.0it/s]"
    cell.outputs = []
    for step in range(5):
        cell.outputs.append(nbformat.v4.new_output("stream", name="stderr",
                                                   text="\r" + bar.format(25 * step, "#" * step, step, step)))
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=f"setting {step}\n"))
    nb.cells = [cell]
    slim_outputs(nb, full_log="log")
    texts = [o["text"] for o in cell.outputs]
    assert texts == [f"setting {s}\n" for s in range(4)] + [bar.format(100, "####", 4, 4), "setting 4\n"]


def test_large_pictures_get_smaller_and_keep_their_look():
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    # a grid of flat-coloured tiles with noise: many colours, like an image grid
    tiles = rng.integers(0, 255, (12, 16, 3)).repeat(60, 0).repeat(80, 1)
    pixels = np.clip(tiles + rng.normal(0, 6, tiles.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    b64 = base64.b64encode(buffer.getvalue()).decode()
    small = smaller_png(b64)
    out = np.asarray(Image.open(io.BytesIO(base64.b64decode(small))).convert("RGB"), dtype=float)
    assert len(small) < len(b64) / 2
    assert out.shape == (562, 1000, 3)        # 720 x 1280 scaled to 1000 wide
    resized = np.asarray(Image.fromarray(pixels).resize((1000, 562), Image.LANCZOS), dtype=float)
    assert np.abs(out - resized).mean() < 8   # the palette keeps the picture


def test_publishing_keeps_answers_edited_during_the_run_and_skips_edited_code(tmp_path):
    from dl4cv_tools.publish import publish_one
    source = _notebook()
    del source.metadata["dl4cv"]
    for cell in source.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    (tmp_path / "a").mkdir()
    nbformat.write(source, str(tmp_path / "a" / "x.ipynb"))
    executed = _notebook()                      # what the run left in build/publish/notebooks
    nbformat.write(executed, str(tmp_path / "executed.ipynb"))
    entry = {"notebook": "a/x.ipynb", "executed_copy": str(tmp_path / "executed.ipynb"),
             "mode": "full", "device": "cpu", "data": ["CIFAR-10 subset"], "runtime_s": 3.0,
             "modules": []}
    source.cells[1].source = "**Your Answer:** rewritten while it ran: 0.44."
    nbformat.write(source, str(tmp_path / "a" / "x.ipynb"))
    assert publish_one(entry, "abc", root=tmp_path).startswith("published a/x.ipynb")
    published = read_notebook(tmp_path / "a" / "x.ipynb")
    assert published.cells[1].source == "**Your Answer:** rewritten while it ran: 0.44."
    assert published.cells[0].outputs[0]["text"] == "accuracy 0.4376\n"
    assert freshness_problems(published) == []
    assert published.metadata["dl4cv"]["commit"] == "abc"

    published.cells[0].source = "print('changed')"  # code edited after the run: not published
    nbformat.write(published, str(tmp_path / "a" / "x.ipynb"))
    assert publish_one(entry, "abc", root=tmp_path).startswith("skipped a/x.ipynb")


def test_the_module_probe_keeps_repository_files_only():
    """A published notebook names the repository files its kernel imported (runner's probe),
    never the virtual environment's or the system's."""
    import json
    from dl4cv_tools.runner import _loaded_files
    files = [str(REPO_ROOT / "dl4cv" / "checks.py"), str(REPO_ROOT / ".venv" / "lib" / "x.py"),
             "/usr/lib/python3.11/json/__init__.py", str(REPO_ROOT / "eecs498" / "A3" / "a3_helper.py")]
    assert _loaded_files(json.dumps(files)) == ["dl4cv/checks.py", "eecs498/A3/a3_helper.py"]
    assert _loaded_files(None) == [] and _loaded_files("not json") == []
