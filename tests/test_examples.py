"""examples/: the README's pictures section matches what dl4cv_tools.examples renders, and the
pictures it shows are there, small and readable. Nothing is regenerated here (minutes of CPU:
`make examples`)."""
import pytest
from PIL import Image

from dl4cv_tools import examples as ex

MAX_GIF_BYTES = 2 * 1024 * 1024


def _all_files():
    return [f for item in ex.ITEMS for f in item.files()]


def test_readme_section_is_the_rendered_one():
    text = ex.README.read_text()
    assert text.count(ex.START) == 1 and text.count(ex.END) == 1
    assert ex.readme_section(text) == ex.render_section(), (
        "README pictures section is stale: run `python -m dl4cv_tools.examples --readme-only` "
        "(or `make examples`)")


def test_every_item_has_its_pictures_and_a_reproduce_command():
    section = ex.render_section()
    for item in ex.ITEMS:
        for f in item.files():
            assert (ex.EXAMPLES_DIR / f).is_file(), f"examples/{f} missing: run `make examples`"
            assert f"examples/{f}" in section
        assert f"python -m dl4cv_tools.examples --only {item.name}`" in section


@pytest.mark.parametrize("name", [f for f in _all_files() if f.endswith(".gif")])
def test_gif_is_small_loops_and_plays_at_a_readable_speed(name):
    path = ex.EXAMPLES_DIR / name
    assert path.stat().st_size < MAX_GIF_BYTES
    with Image.open(path) as im:
        assert im.format == "GIF"
        assert im.n_frames >= 10
        assert im.info.get("loop") == 0, "GIF must loop forever"
        durations = []
        for k in range(min(im.n_frames, 5)):
            im.seek(k)
            durations.append(im.info["duration"])
        assert min(s for s in im.size) >= 96, f"{name} is too small to see: {im.size}"
    # 4-10 frames per second (held last frames may be merged into a longer one: use the first).
    assert 100 <= durations[0] <= 250, durations


@pytest.mark.parametrize("name", [f for f in _all_files() if f.endswith(".png")])
def test_png_carries_its_caption(name):
    caption = ex.png_caption(ex.EXAMPLES_DIR / name)
    assert caption and len(caption) > 40
    assert caption in ex.render_section()


def test_class_visualization_names_match_the_available_model():
    from dl4cv import pretrained
    names = ex.classvis_names()
    expected = ex.IMAGENET_CLASSVIS if pretrained.real_available() else ex.CIFAR_CLASSVIS
    assert tuple(names) == tuple(expected)
    if not pretrained.real_available():
        from dl4cv.data import CIFAR10_CLASSES
        assert set(names) <= set(CIFAR10_CLASSES)


def test_readme_section_replacement_keeps_the_rest(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n\n{ex.START}\nold stuff\n{ex.END}\n\nafter\n")
    ex.update_readme(readme)
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert ex.readme_section(text) == ex.render_section()
    with pytest.raises(ValueError, match="examples:start"):
        ex.readme_section("no markers here")


def test_unknown_item_is_rejected():
    with pytest.raises(SystemExit):
        ex.main(["--only", "no_such_item"])
