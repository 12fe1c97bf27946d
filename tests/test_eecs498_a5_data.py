"""EECS 498 A5 data: the seeded synthetic VOC writer and the VOC 2007 loader."""
import pytest
import torchvision
import torch

from dl4cv.errors import DataMissingError
from dl4cv.standins.synthetic_voc import write_synthetic_voc
from dl4cv_tools.testing import course_module


@pytest.fixture(scope="module")
def helper():
    return course_module("eecs498/A5", "a5_helper")


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory):
    return write_synthetic_voc(tmp_path_factory.mktemp("voc"), num_images=8, seed=3)


def test_synthetic_layout_and_determinism(voc_root, tmp_path):
    voc = voc_root / "VOCdevkit" / "VOC2007"
    ids = (voc / "ImageSets" / "Main" / "trainval.txt").read_text().split()
    assert len(ids) == 8
    assert sorted((voc / "ImageSets" / "Main" / "train.txt").read_text().split()
                  + (voc / "ImageSets" / "Main" / "val.txt").read_text().split()) == sorted(ids)
    for i in ids:
        assert (voc / "JPEGImages" / f"{i}.jpg").exists()
    again = write_synthetic_voc(tmp_path, num_images=8, seed=3)
    for i in ids:
        a = (voc / "Annotations" / f"{i}.xml").read_text()
        assert a == (again / "VOCdevkit" / "VOC2007" / "Annotations" / f"{i}.xml").read_text()
        assert (voc / "JPEGImages" / f"{i}.jpg").read_bytes() == \
            (again / "VOCdevkit" / "VOC2007" / "JPEGImages" / f"{i}.jpg").read_bytes()
    other = write_synthetic_voc(tmp_path / "other", num_images=8, seed=4)
    assert (other / "VOCdevkit/VOC2007/Annotations/000001.xml").read_text() != \
        (voc / "Annotations" / "000001.xml").read_text()


def test_synthetic_bad_classes(tmp_path):
    with pytest.raises(ValueError, match="deer"):
        write_synthetic_voc(tmp_path, num_images=4, classes=("deer",))


def test_loader_resizes_and_scales_boxes(voc_root, helper):
    import xml.etree.ElementTree as ET
    ds = helper.get_pascal_voc2007_data(voc_root, "trainval")
    images, boxes, w, h, ids = next(iter(helper.pascal_voc2007_loader(ds, 3)))
    assert images.shape == (3, 3, 224, 224) and images.dtype == torch.float32
    for i in range(3):
        root = ET.parse(ds.voc_dir / "Annotations" / ids[i].replace(".jpg", ".xml")).getroot()
        assert (int(root.findtext("size/width")), int(root.findtext("size/height"))) == (w[i].item(), h[i].item())
        objs = root.findall("object")
        for j, obj in enumerate(objs):
            raw = [float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
            assert boxes[i, j, :4].tolist() == raw
            assert boxes[i, j, 4].item() == helper.class_to_idx[obj.findtext("name")]
        assert (boxes[i, len(objs):] == -1).all()
    # pixels -> 7x7 activation map: x * 7 / width, y * 7 / height; padding stays -1
    amap = helper.coord_trans(boxes, w, h, mode='p2a')
    valid = boxes[..., 0] != -1
    expected = boxes.clone()
    expected[..., [0, 2]] *= (7. / w.float()).view(-1, 1, 1)
    expected[..., [1, 3]] *= (7. / h.float()).view(-1, 1, 1)
    torch.testing.assert_close(amap[valid], expected[valid])
    assert (amap[~valid] == -1).all()
    torch.testing.assert_close(helper.coord_trans(amap, w, h, mode='a2p'), boxes)
    # the resized image is the normalized bilinear resize of the JPEG
    img, _ = ds[0]
    from PIL import Image
    import numpy as np
    ref = np.asarray(img.resize((224, 224), Image.BILINEAR), dtype=np.float32) / 255.
    mean, std = np.array(helper.IMAGENET_MEAN), np.array(helper.IMAGENET_STD)
    np.testing.assert_allclose(images[0].permute(1, 2, 0).numpy(), (ref - mean) / std, atol=1e-5)


def _write_xml(path, objects, w=100, h=80):
    parts = [f"<annotation><filename>{path.stem}.jpg</filename><size><width>{w}</width>"
             f"<height>{h}</height><depth>3</depth></size>"]
    for name, box in objects:
        parts.append(f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{box[0]}</xmin>"
                     f"<ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object>")
    path.write_text("".join(parts) + "</annotation>")


def test_annotation_has_torchvision_voc_layout(helper, tmp_path):
    """The course's notebooks read `ann['annotation']['object'][k]['bndbox']['xmin']` (the
    nested dict of torchvision's VOCDetection); our data set gives that too."""
    _write_xml(tmp_path / "a.xml", [("dog", (1, 2, 30, 40)), ("cat", (5, 6, 70, 60))])
    ann = helper.parse_voc_annotation(tmp_path / "a.xml")["annotation"]
    assert ann["size"]["width"] == "100" and ann["size"]["height"] == "80"
    assert [o["name"] for o in ann["object"]] == ["dog", "cat"]
    assert {k: int(v) for k, v in ann["object"][1]["bndbox"].items()} == \
        {"xmin": 5, "ymin": 6, "xmax": 70, "ymax": 60}


def test_bad_annotations(helper, tmp_path):
    _write_xml(tmp_path / "a.xml", [("dog", (1, 2, 30, 40))])
    ann = helper.parse_voc_annotation(tmp_path / "a.xml")
    assert ann["objects"] == [("dog", 1., 2., 30., 40., 0)] and ann["width"] == 100
    _write_xml(tmp_path / "b.xml", [("unicorn", (1, 2, 30, 40))])
    with pytest.raises(ValueError, match="unknown class 'unicorn'"):
        helper.parse_voc_annotation(tmp_path / "b.xml")
    _write_xml(tmp_path / "c.xml", [])
    with pytest.raises(ValueError, match="no annotated objects"):
        helper.parse_voc_annotation(tmp_path / "c.xml")
    _write_xml(tmp_path / "d.xml", [("dog", (30, 2, 1, 40))])
    with pytest.raises(ValueError, match="xmax < xmin"):
        helper.parse_voc_annotation(tmp_path / "d.xml")


def test_missing_voc_names_the_fix(helper, tmp_path):
    with pytest.raises(DataMissingError, match="get_datasets.sh voc2007"):
        helper.get_pascal_voc2007_data(tmp_path, "train")


def test_synthetic_objects_never_overlap_and_respect_scale(helper, tmp_path):
    root = write_synthetic_voc(tmp_path, num_images=12, seed=1, scale_range=(0.3, 0.5))
    ds = helper.get_pascal_voc2007_data(root, "trainval")
    for ann in ds.annotations:
        boxes = torch.tensor([o[1:5] for o in ann["objects"]])
        # VOC 1-based inclusive -> pixel rectangles [x1 - 1, x2) x [y1 - 1, y2)
        rect = torch.cat([boxes[:, :2] - 1, boxes[:, 2:]], 1)
        iou = torchvision.ops.box_iou(rect, rect)
        assert torch.equal(iou, torch.eye(len(rect)))          # no two objects overlap
        side = ((rect[:, 2] - rect[:, 0]) * (rect[:, 3] - rect[:, 1])).sqrt()
        short = min(ann["width"], ann["height"])
        assert (side >= 0.3 * short - 1).all() and (side <= 0.5 * short + 1).all()


def test_synthetic_val_objects_come_from_cifar_test_images(helper, tmp_path):
    """Each pasted object is a resized (maybe mirrored) CIFAR-10 image: find the closest CIFAR
    image of each object by downsizing the JPEG crop; train objects must match training images
    and val objects test images (so the splits share no object)."""
    import numpy as np
    from PIL import Image
    from dl4cv.data import load_cifar10
    xtr, _, xte, _ = load_cifar10(verbose=False)
    root = write_synthetic_voc(tmp_path, num_images=4, seed=2, val_fraction=0.5)
    voc = root / "VOCdevkit" / "VOC2007"
    pools = torch.from_numpy(np.concatenate([xtr, xte])).float()                  # (Ntr+Nte, 32, 32, 3)
    pools = torch.cat([pools, pools.flip(2)]).flatten(1)                            # + mirrored
    sq = (pools ** 2).sum(1)
    n_tr, n_all = len(xtr), len(xtr) + len(xte)
    for split in ("train", "val"):
        for image_id in (voc / "ImageSets" / "Main" / f"{split}.txt").read_text().split():
            ann = helper.parse_voc_annotation(voc / "Annotations" / f"{image_id}.xml")
            img = Image.open(voc / "JPEGImages" / f"{image_id}.jpg").convert("RGB")
            for _, x1, y1, x2, y2, _ in ann["objects"]:
                crop = img.crop((int(x1) - 1, int(y1) - 1, int(x2), int(y2))).resize((32, 32), Image.BILINEAR)
                crop = torch.from_numpy(np.asarray(crop, dtype=np.float32)).flatten()
                best = int((sq - 2 * pools @ crop).argmin()) % n_all     # nearest in L2
                assert (best >= n_tr) == (split == "val"), (split, image_id)


def test_hflip_boxes_matches_flipped_mask(helper):
    import numpy as np
    boxes = torch.tensor([[[3., 5., 20., 9., 2.], [0., 0., 7., 7., 1.]],
                          [[10., 1., 29., 6., 0.], [-1., -1., -1., -1., -1.]]])
    widths = torch.tensor([32, 30])
    out = helper.hflip_boxes(boxes, widths)
    for b in range(2):
        for n in range(2):
            if boxes[b, n, 0] == -1:
                assert (out[b, n] == -1).all()
                continue
            x1, y1, x2, y2 = (int(v) for v in boxes[b, n, :4])
            mask = np.zeros((12, int(widths[b])), bool)
            mask[y1:y2, x1:x2] = True
            cols = np.flatnonzero(mask[:, ::-1].any(0))                 # mirrored mask
            assert out[b, n].tolist() == [cols[0], y1, cols[-1] + 1, y2, boxes[b, n, 4].item()]
