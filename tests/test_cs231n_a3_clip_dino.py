"""CS231n 2025 assignment 3 CLIP_DINO: the student functions of cs231n/clip_dino.py against
independent references, and the project's stand-ins (dl4cv.standins.clip_dino).

- get_similarity_no_loop vs F.cosine_similarity of every pair (float64);
- clip_zero_shot_classifier with a mocked CLIP model vs the argmax of explicit cosines
  (features of different lengths, so a plain dot product picks other classes);
- CLIPImageRetriever.retrieve vs torch.topk of explicit cosines, and images encoded once;
- DINOSegmentation on separable features vs the closed-form least-squares classifier (both
  must recover the labels of held-out points), and its output type;
- compute_iou (given) vs a direct computation; the overlay and DavisDataset conversions;
- the stand-ins' interfaces (tokenizer, TinyCLIP, TinyViT's DINO methods, the DAVIS layout).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"


def cd():
    return course_module(A3, "cs231n.clip_dino")


def explicit_cosines(a, b):
    """(N, D), (M, D) -> (N, M) with F.cosine_similarity of each pair."""
    return torch.stack([F.cosine_similarity(a[i:i + 1].expand_as(b), b, dim=1)
                        for i in range(a.shape[0])])


# ----------------------------------------------------------------------------- similarity
@pytest.mark.reference("cs231n/assignment3", "cs231n/clip_dino.py::get_similarity_no_loop")
@pytest.mark.parametrize("n,m,d,seed", [(6, 5, 10, 0), (1, 7, 3, 1), (4, 1, 32, 2), (9, 9, 2, 3)])
def test_similarity_vs_cosine_similarity(n, m, d, seed):
    g = torch.Generator().manual_seed(seed)
    scale = torch.rand(n, 1, generator=g, dtype=torch.float64) * 10 + 0.1   # rows of any length
    text = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    image = torch.randn(m, d, generator=g, dtype=torch.float64)
    out = cd().get_similarity_no_loop(text, image)
    assert out.shape == (n, m)
    torch.testing.assert_close(out, explicit_cosines(text, image), rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- mocked CLIP
class MockCLIP:
    """A CLIP-like model: texts -> fixed seeded vectors of very different lengths, images ->
    a fixed linear map of their mean colour and brightness pattern; counts its calls."""

    def __init__(self, vocab, d=8, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.vocab = list(vocab)
        self.text_table = torch.randn(len(self.vocab), d, generator=g) * \
            torch.logspace(-1, 1, len(self.vocab))[:, None]
        self.W = torch.randn(6, d, generator=g)
        self.calls = {"image": 0, "text": 0}

    def tokenize(self, texts):
        return torch.tensor([[self.vocab.index(t)] for t in texts])

    def encode_text(self, tokens):
        self.calls["text"] += 1
        return self.text_table[tokens[:, 0]]

    def encode_image(self, x):
        self.calls["image"] += 1
        stats = torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)   # (N, 6)
        return stats @ self.W * torch.linspace(0.2, 5, x.shape[0])[:, None]


def mock_preprocess(pil):
    return torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255.0).permute(2, 0, 1)


def random_images(n, seed, h=12, w=10):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for _ in range(n)]


def direct_features(model, images, texts):
    x = torch.stack([mock_preprocess(im) for im in images])
    return model.encode_text(model.tokenize(texts)), model.encode_image(x)


@pytest.mark.reference("cs231n/assignment3", "cs231n/clip_dino.py::clip_zero_shot_classifier")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zero_shot_vs_argmax_of_cosines(seed):
    texts = ["a cat", "a dog", "food", "a landscape", "other"]
    model = MockCLIP(texts, seed=seed)
    images = random_images(9, seed)
    tf, imf = direct_features(model, images, texts)
    expected = [texts[i] for i in explicit_cosines(imf, tf).argmax(dim=1).tolist()]
    got = cd().clip_zero_shot_classifier(model, mock_preprocess, images, texts, "cpu")
    assert list(got) == expected


def test_mock_makes_dot_products_differ_from_cosines():
    """The mock's features have different lengths: unnormalized dot products would predict
    other classes, so the test above tells the two apart."""
    texts = ["a cat", "a dog", "food", "a landscape", "other"]
    differs = 0
    for seed in (0, 1, 2):
        model = MockCLIP(texts, seed=seed)
        tf, imf = direct_features(model, random_images(9, seed), texts)
        differs += int(((imf @ tf.t()).argmax(1) != explicit_cosines(imf, tf).argmax(1)).sum())
    assert differs > 0


@pytest.mark.reference("cs231n/assignment3", "cs231n/clip_dino.py::CLIPImageRetriever.__init__",
                       "cs231n/clip_dino.py::CLIPImageRetriever.retrieve")
@pytest.mark.parametrize("k", [1, 2, 5])
def test_retrieve_vs_topk_of_cosines(k):
    texts = ["sports", "black and white", "a dog", "food"]
    model = MockCLIP(texts, seed=3)
    images = random_images(7, 5)
    tf, imf = direct_features(model, images, texts)
    model.calls = {"image": 0, "text": 0}
    retriever = cd().CLIPImageRetriever(model, mock_preprocess, images, "cpu")
    assert model.calls["image"] == 1, "encode all images once, in __init__"
    cos = explicit_cosines(tf, imf)                   # (texts, images)
    for qi, query in enumerate(texts):
        got = retriever.retrieve(query, k=k)
        assert [int(i) for i in got] == torch.topk(cos[qi], k).indices.tolist()
    assert model.calls["image"] == 1, "retrieve must not encode the images again"
    assert len(retriever.retrieve(texts[0])) == 2          # the course's default k=2


# ----------------------------------------------------------------------------- segmentation
def separable_features(n_per_class, num_classes, d, seed, spread=0.3):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(num_classes, d, generator=g) * 3
    y = torch.arange(num_classes).repeat_interleave(n_per_class)
    x = centers[y] + spread * torch.randn(len(y), d, generator=g)
    return x, y


def least_squares_classifier(x, y, num_classes):
    """Closed form: one-hot regression with a bias, W = pinv([x 1]) onehot (float64)."""
    xa = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], dim=1)
    W = torch.linalg.pinv(xa) @ F.one_hot(y, num_classes).double()
    return lambda z: (torch.cat([z.double(), torch.ones(len(z), 1, dtype=torch.float64)], 1) @ W).argmax(1)


@pytest.mark.reference("cs231n/assignment3", "cs231n/clip_dino.py::DINOSegmentation.__init__",
                       "cs231n/clip_dino.py::DINOSegmentation.train",
                       "cs231n/clip_dino.py::DINOSegmentation.inference")
@pytest.mark.parametrize("num_classes,d,seed", [(2, 16, 0), (4, 24, 1), (5, 384, 2)])
def test_segmentation_learns_separable_features_like_least_squares(num_classes, d, seed, capsys):
    torch.manual_seed(seed)
    x_train, y_train = separable_features(40, num_classes, d, seed)
    x_test, y_test = separable_features(25, num_classes, d, seed)   # same centers, new noise
    g = torch.Generator().manual_seed(100 + seed)
    x_test = x_test + 0.05 * torch.randn(x_test.shape, generator=g)
    reference = least_squares_classifier(x_train, y_train, num_classes)(x_test)
    assert torch.equal(reference, y_test)              # the reference itself is right here
    seg = cd().DINOSegmentation("cpu", num_classes, inp_dim=d) if d != 384 else \
        cd().DINOSegmentation("cpu", num_classes)      # the course's default inp_dim=384
    seg.train(x_train, y_train, num_iters=200)
    pred = seg.inference(x_test)
    assert pred.shape == (len(x_test),)
    assert pred.dtype == torch.long
    assert torch.equal(pred.cpu(), reference)


@pytest.mark.reference("cs231n/assignment3", "cs231n/clip_dino.py::DINOSegmentation.train")
def test_segmentation_training_fits_overlapping_classes():
    """On a noisy 3-class set (clusters that overlap a little), 300 steps fit the training
    features well above chance, and at least as well as one step."""
    torch.manual_seed(0)
    x, y = separable_features(60, 3, 12, 7, spread=2.0)
    seg = cd().DINOSegmentation("cpu", 3, inp_dim=12)
    seg.train(x, y, num_iters=1)
    acc_1 = (seg.inference(x) == y).float().mean().item()
    seg.train(x, y, num_iters=300)
    acc_300 = (seg.inference(x) == y).float().mean().item()
    assert acc_300 >= acc_1 and acc_300 > 0.8


# ----------------------------------------------------------------------------- given code
def direct_mean_iou(pred, gt, num_classes):
    ious = []
    for c in range(num_classes):
        inter = sum(1 for p, g in zip(pred, gt) if p == c and g == c)
        union = sum(1 for p, g in zip(pred, gt) if p == c or g == c)
        ious.append(inter / union if union else 0.0)
    return sum(ious) / num_classes


@pytest.mark.parametrize("seed", range(4))
def test_compute_iou_vs_direct_computation(seed):
    g = torch.Generator().manual_seed(seed)
    pred, gt = torch.randint(0, 4, (200,), generator=g), torch.randint(0, 4, (200,), generator=g)
    got = float(cd().compute_iou(pred, gt, 4))
    assert got == pytest.approx(direct_mean_iou(pred.tolist(), gt.tolist(), 4), abs=1e-6)
    assert float(cd().compute_iou(gt, gt, 4)) == pytest.approx(1.0, abs=1e-6)


def test_segmentation_overlay():
    img = np.random.default_rng(0).integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    mask = np.random.default_rng(1).integers(0, 4, size=(6, 5))
    assert np.array_equal(cd().create_segmentation_overlay(mask, img, alpha=0.0), img)
    np.random.seed(42)   # the course's colormap: the global generator seeded with 42
    colors = np.random.randint(0, 256, size=(10, 3), dtype=np.uint8)
    assert np.array_equal(cd().create_segmentation_overlay(mask, img, alpha=1.0), colors[mask])
    half = cd().create_segmentation_overlay(mask, img)
    assert half.dtype == np.uint8 and np.abs(half.astype(int) - (img / 2 + colors[mask] / 2)).max() <= 1


def test_optional_packages_are_not_imported_at_module_import():
    import sys
    cd()
    for name in ("clip", "tensorflow_datasets", "cv2", "tensorflow"):
        if name not in sys.modules:
            continue
        pytest.skip(f"{name} is installed here")
    src = open(cd().__file__).read().split('"""', 2)[2]
    top = [ln for ln in src.splitlines() if ln.startswith(("import ", "from "))]
    assert not any(n in ln for ln in top for n in ("clip", "tensorflow", "cv2", "decord"))


def test_tokenize_names_the_install_command_without_clip():
    try:
        import clip  # noqa: F401
        pytest.skip("clip is installed")
    except ImportError:
        pass
    with pytest.raises(ImportError, match="pip install"):
        cd().tokenize(object(), ["a photo"])


# ----------------------------------------------------------------------------- stand-ins
def standins():
    from dl4cv.standins import clip_dino
    return clip_dino


def test_word_tokenizer_layout():
    tok = standins().WordTokenizer(["a", "photo", "of", "frog"], context=6)
    ids = tok(["A photo of a frog!", "zebra"])
    idx = tok.index
    assert ids.shape == (2, 6) and ids[1].tolist() == [1, 3, 2, 0, 0, 0]
    assert ids[0].tolist() == [1, idx["a"], idx["photo"], idx["of"], idx["a"], 2]   # truncated


def test_tinyclip_interface_and_course_functions():
    from PIL import Image
    sd = standins()
    torch.manual_seed(0)
    model = sd.TinyCLIP(vocab_words=["a", "photo", "of", "cat", "dog"]).eval()
    pre = sd.clip_preprocess()
    x = pre(Image.fromarray(np.zeros((40, 50, 3), np.uint8)))
    assert x.shape == (3, 32, 32)
    feats = model.encode_text(model.tokenize(["a photo of a cat", "dog"]))
    assert feats.shape == (2, sd.EMBED_DIM)
    images = random_images(3, 0, 32, 32)
    preds = cd().clip_zero_shot_classifier(model, pre, images, ["a cat", "a dog"], "cpu")
    assert len(preds) == 3 and set(preds) <= {"a cat", "a dog"}
    assert len(cd().CLIPImageRetriever(model, pre, images, "cpu").retrieve("a cat", k=3)) == 3


def test_tinyvit_dino_interface():
    sd = standins()
    torch.manual_seed(0)
    vit = sd.TinyViT().eval()
    x = torch.randn(2, 3, 32, 32)
    out = vit.get_intermediate_layers(x, n=1)
    assert len(out) == 1 and out[0].shape == (2, 1 + 64, sd.VIT_DIM)
    big = vit.get_intermediate_layers(torch.randn(1, 3, 96, 96), n=2)
    assert len(big) == 2 and big[-1].shape == (1, 1 + 24 * 24, sd.VIT_DIM)
    attn = vit.get_last_selfattention(x)
    assert attn.shape == (2, sd.VIT_HEADS, 65, 65)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, sd.VIT_HEADS, 65))
    assert vit.patch_embed.patch_size == sd.PATCH


def test_standin_training_runs_briefly():
    sd = standins()
    state, info = sd.train_dino(steps=2, batch=4, verbose=False)
    assert info["steps"] == 2 and np.isfinite(info["last_loss"])
    sd.TinyViT().load_state_dict(state)


def test_synthetic_davis_layout_and_motion():
    sd = standins()
    videos = sd.SyntheticDavis(num_videos=2, num_frames=6, height=64, width=96)
    v = videos[1]
    frames, masks = v["video"]["frames"], v["video"]["segmentations"]
    assert frames.shape == (6, 64, 96, 3) and frames.dtype == np.uint8
    assert masks.shape == (6, 64, 96, 1) and masks.dtype == np.uint8
    assert 2 <= masks.max() <= 3 and v["metadata"]["video_name"] == b"synthetic-01"
    # each object's mask moves by at most 3 pixels per frame (a bounding-box check)
    for k in range(1, int(masks.max()) + 1):
        boxes = []
        for t in range(6):
            ys, xs = np.nonzero(masks[t, ..., 0] == k)
            if len(ys):
                boxes.append((ys.min(), xs.min(), t))
        for (y0, x0, t0), (y1, x1, t1) in zip(boxes, boxes[1:]):
            if t1 == t0 + 1:
                assert abs(int(y1) - int(y0)) <= 4 and abs(int(x1) - int(x0)) <= 4
    assert np.array_equal(videos[1]["video"]["frames"], frames)        # seeded


def test_davis_dataset_on_synthetic_videos():
    sd = standins()
    videos = sd.SyntheticDavis(num_videos=2, num_frames=3, height=64, width=96)
    ds = cd().DavisDataset(videos, img_size=32, patch_size=4)
    frames, masks = ds.get_sample(1)
    vit = sd.TinyViT().eval()
    x = ds.process_frames(frames[:2], vit, "cpu")
    y = ds.process_masks(masks[:2], "cpu")
    assert x.shape == (2, 64, sd.VIT_DIM) and y.shape == (2, 64) and y.dtype == torch.long
    assert set(y.unique().tolist()) <= set(np.unique(masks).tolist())
    over = ds.mask_frame_overlay(y[0], frames[0])
    assert over.shape == frames[0].shape and over.dtype == np.uint8
