"""CS231n A1 features: HOG and the hue histogram against direct per-pixel references."""
import colorsys

import numpy as np

from dl4cv_tools.testing import course_module

A1 = "cs231n/assignment1"


def hog_reference(img):
    """Loop-by-loop HOG: forward differences, unsigned orientation in 9 bins of 20 degrees,
    mean magnitude per bin over each 8x8 cell."""
    gray = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    H, W = gray.shape
    hist = np.zeros((H // 8, W // 8, 9))
    for r in range(H // 8 * 8):
        for c in range(W // 8 * 8):
            gx = gray[r, c + 1] - gray[r, c] if c + 1 < W else 0.0
            gy = gray[r + 1, c] - gray[r, c] if r + 1 < H else 0.0
            mag = np.hypot(gx, gy)
            angle = np.degrees(np.arctan2(gy, gx)) % 180.0
            hist[r // 8, c // 8, min(int(angle // 20), 8)] += mag / 64.0
    return hist.ravel()


def test_hog_feature_matches_loop_reference(rng):
    features = course_module(A1, "cs231n.features")
    img = rng.uniform(0, 255, size=(32, 24, 3))
    feat = features.hog_feature(img)
    assert feat.shape == (4 * 3 * 9,)
    np.testing.assert_allclose(feat, hog_reference(img), rtol=1e-10, atol=1e-10)


def test_color_histogram_matches_colorsys(rng):
    features = course_module(A1, "cs231n.features")
    img = rng.uniform(0, 255, size=(16, 16, 3))
    hist = features.color_histogram_hsv(img, nbin=10)
    hues = np.array([colorsys.rgb_to_hsv(*(px / 255.0))[0] * 255 for px in img.reshape(-1, 3)])
    counts = np.histogram(hues, bins=np.linspace(0, 255, 11))[0]
    np.testing.assert_allclose(hist, counts / counts.sum(), atol=1e-12)


def test_extract_features_concatenates(rng):
    features = course_module(A1, "cs231n.features")
    imgs = rng.uniform(0, 255, size=(3, 16, 16, 3))
    fns = [features.hog_feature, lambda im: features.color_histogram_hsv(im, nbin=5)]
    feats = features.extract_features(imgs, fns)
    assert feats.shape == (3, 2 * 2 * 9 + 5)
    np.testing.assert_allclose(feats[2, :36], features.hog_feature(imgs[2]))
    np.testing.assert_allclose(feats[1, 36:], features.color_histogram_hsv(imgs[1], nbin=5))


# ---------------------------------------------------------------- the course's other given helpers

def test_vis_grid_and_vis_nn_layout():
    vis = course_module(A1, "cs231n.vis_utils")
    Xs = np.arange(1, 4, dtype=np.float64).reshape(3, 1, 1, 1) * np.ones((3, 2, 2, 1))
    G = vis.vis_grid(Xs)  # 3 images -> a 2x2 grid of 2x2 tiles, 1 px padding at the minimum
    assert G.shape == (6, 6, 1)
    assert G.min() == 0.0 and G.max() == 1.0
    assert np.all(G[0:2, 0:2] == 0.0) and np.all(G[0:2, 3:5] == 0.5) and np.all(G[3:5, 0:2] == 1.0)
    assert np.all(G[3:5, 3:5] == 0.0) and np.all(G[2, :] == 0.0)  # empty slot and padding
    rows = [[np.zeros((2, 2, 3)), np.ones((2, 2, 3))], [np.full((2, 2, 3), 3.0)] * 2]
    G = vis.vis_nn(rows)
    assert G.shape == (6, 6, 3)
    assert np.all(G[0:2, 0:2] == 0.0) and np.all(G[0:2, 3:5] == 1 / 3) and np.all(G[3:5, :2] == 1.0)


def test_load_tiny_imagenet_and_load_models(tmp_path):
    import pickle
    from PIL import Image
    du = course_module(A1, "cs231n.data_utils")
    wnids = ["n01", "n02"]
    (tmp_path / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (tmp_path / "words.txt").write_text("n01\tcat, kitty\nn02\tdog\nn99\tunused\n")

    def save(path, value, gray=False):
        path.parent.mkdir(parents=True, exist_ok=True)
        shape = (64, 64) if gray else (64, 64, 3)
        Image.fromarray(np.full(shape, value, dtype=np.uint8)).save(path)

    for k, wnid in enumerate(wnids):
        names = [f"{wnid}_{j}.JPEG" for j in range(2)]
        (tmp_path / "train" / wnid).mkdir(parents=True)
        (tmp_path / "train" / wnid / f"{wnid}_boxes.txt").write_text(
            "".join(f"{n}\t0\t0\t63\t63\n" for n in names))
        for j, n in enumerate(names):
            save(tmp_path / "train" / wnid / "images" / n, 10 + 40 * k + 20 * j, gray=(k == 1 and j == 1))
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "val_annotations.txt").write_text("v0.JPEG\tn02\t0\t0\t1\t1\n")
    save(tmp_path / "val" / "images" / "v0.JPEG", 100)
    save(tmp_path / "test" / "images" / "t0.JPEG", 5)

    data = du.load_tiny_imagenet(str(tmp_path), subtract_mean=False)
    assert data["class_names"] == [["cat", "kitty"], ["dog"]]
    assert data["X_train"].shape == (4, 3, 64, 64) and data["X_train"].dtype == np.float32
    assert list(data["y_train"]) == [0, 0, 1, 1]
    assert list(data["X_train"][:, 0, 0, 0]) == [10, 30, 50, 70]  # the gray image fills 3 channels
    assert np.all(data["X_train"][3] == 70)
    assert list(data["y_val"]) == [1] and data["X_val"].shape == (1, 3, 64, 64)
    assert data["X_test"].shape == (1, 3, 64, 64) and data["y_test"] is None
    assert np.allclose(data["mean_image"], 40.0)
    centred = du.load_tiny_imagenet(str(tmp_path))
    assert np.allclose(centred["X_train"][:, 0, 0, 0], [-30, -10, 10, 30])
    assert np.allclose(centred["X_val"], 60.0)

    models = tmp_path / "models"
    models.mkdir()
    with open(models / "net.pkl", "wb") as f:
        pickle.dump({"model": {"W1": 1}}, f)
    (models / "README.txt").write_text("not a pickle")
    assert du.load_models(str(models)) == {"net.pkl": {"W1": 1}}
