"""EECS 498 A5 benchmarks: nms and IoU against torchvision.ops, detector inference speed."""
import torch
import torchvision

from dl4cv_tools.bench import case
from dl4cv_tools.testing import course_module

A5 = "eecs498/A5"


def _spread_boxes(n, seed=0):
    """n random boxes in a 1000 x 1000 image, sides 10-110 px, random scores."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 1000
    boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 100 + 10], 1)
    return boxes, torch.rand(n, generator=g)


@case("A5 nms_fast vs torchvision.ops.nms (5,000 random boxes in 1000x1000, IoU 0.5, f32)",
      min_ratio=0.3)
def nms_fast_5000():
    helper = course_module(A5, "a5_helper")
    boxes, scores = _spread_boxes(5000)
    return (lambda: helper.nms_fast(boxes, scores, 0.5)), (lambda: torchvision.ops.nms(boxes, scores, 0.5))


@case("A5 nms_fast vs torchvision.ops.nms (5,000 crowded boxes: all within 200x200, IoU 0.5, f32)",
      min_ratio=0.5, notes="most pairs overlap: nms_fast's block-at-a-time greedy branch")
def nms_fast_5000_crowded():
    helper = course_module(A5, "a5_helper")
    g = torch.Generator().manual_seed(1)
    boxes = torch.rand(5000, 4, generator=g) * 100
    boxes[:, 2:] += boxes[:, :2]
    scores = torch.rand(5000, generator=g)
    return (lambda: helper.nms_fast(boxes, scores, 0.5)), (lambda: torchvision.ops.nms(boxes, scores, 0.5))


@case("A5 nms, the course's greedy loop (student region), vs torchvision.ops.nms (5,000 random "
      "boxes, IoU 0.5, f32)", notes="no target: the course asks for the simple greedy loop")
def nms_greedy_5000():
    ssd = course_module(A5, "single_stage_detector")
    boxes, scores = _spread_boxes(5000)
    return (lambda: ssd.nms(boxes, scores, 0.5)), (lambda: torchvision.ops.nms(boxes, scores, 0.5))


@case("A5 IoU vs torchvision.ops.box_iou (2,000 x 2,000 boxes, f32)", min_ratio=0.5)
def iou_2000():
    ssd = course_module(A5, "single_stage_detector")
    a, _ = _spread_boxes(2000, seed=2)
    b, _ = _spread_boxes(2000, seed=3)
    gt = torch.cat([b, torch.zeros(2000, 1)], 1).unsqueeze(0)
    props = a.view(1, 2000, 1, 1, 4)
    return (lambda: ssd.IoU(props, gt)), (lambda: torchvision.ops.box_iou(a, b))


def _inference_case(module, cls):
    mod = course_module(A5, module)
    torch.manual_seed(0)
    det = getattr(mod, cls)().eval()
    images = torch.randn(8, 3, 224, 224)
    # thresh 0.5 on an untrained detector keeps about half the anchors: a realistic NMS load
    return (lambda: det.inference(images, thresh=0.5, nms_thresh=0.7)), None


@case("A5 SingleStageDetector.inference (MobileNet v2, 8 images 224x224, CPU)", items=8, repeats=3, warmup=1)
def yolo_inference():
    return _inference_case("single_stage_detector", "SingleStageDetector")


@case("A5 TwoStageDetector.inference (MobileNet v2, 8 images 224x224, CPU)", items=8, repeats=3, warmup=1)
def frcnn_inference():
    return _inference_case("two_stage_detector", "TwoStageDetector")
