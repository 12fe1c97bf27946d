"""Train both A5 detectors on the synthetic VOC set within a CPU budget and measure mAP@0.5.

Not part of CI (minutes of CPU); run once and quote its output:

    .venv/bin/python eecs498/A5/cpu_budget_run.py [--images 600] [--budget 420] [--threads 1]

Backbone: MobileNet v2 with ImageNet weights when present, else MobileNet v2 trained on the
CIFAR-10 training images (a5_helper.load_cifar10_backbone: trained once, cached), with its
BatchNorm statistics recomputed on the detection training images. The synthetic set's val
objects are CIFAR-10 *test* images, so neither the detectors nor the backbone have seen them.
Blocks [0, --split) of the backbone are frozen and their outputs computed once (training
images also mirrored, --hflip); blocks [--split, 19) train with the detection heads (--split 19:
heads only, on frozen 7x7x1280 features). Each detector gets at most --budget seconds of
training. Output: mAP@0.5 on the val split (and on the train split) before and after training,
plus the class-agnostic val mAP (object vs background: localization alone).

Measured 2026-11-27 on a shared 2-core CPU, one thread (600 images: 450 train / 150 val,
3 classes, CIFAR-10 backbone with 45.1% CIFAR-10 test accuracy, feature cache ~150 s):
- single-stage: val mAP@0.5 0.000 untrained -> 0.195 (100 epochs, 158 s; train split 0.234)
  and 0.219 (--epochs 200, 324 s; train 0.280, class-agnostic val 0.433)
- two-stage: val 0.000 -> 0.284 (420 s budget, 1,620 steps; train 0.320, class-agnostic 0.546)
- single-stage with --backbone random: val 0.023 (train 0.090, class-agnostic 0.097)
"""
import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--budget", type=float, default=420.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--split", type=int, default=19,
                    help="MobileNet blocks [0, split) frozen and cached, [split, 19) trained; 19 = heads only")
    ap.add_argument("--no-hflip", dest="hflip", action="store_false")
    ap.add_argument("--backbone", choices=("cifar10", "random"), default="cifar10",
                    help="fallback when ImageNet weights are absent")
    ap.add_argument("--only", choices=("single-stage", "two-stage"), default=None)
    ap.add_argument("--json", default=None, help="write the figures to this file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(HERE))
    import a5_helper as h
    import single_stage_detector as ssd
    import two_stage_detector as tsd
    from dl4cv.seeding import seed_everything
    from dl4cv.synthetic_voc import write_synthetic_voc

    seed_everything(0)
    t0 = time.time()
    root = write_synthetic_voc(num_images=args.images, seed=0)
    train_set = h.get_pascal_voc2007_data(root, "train")
    val_set = h.get_pascal_voc2007_data(root, "val")
    classes = sorted({o[0] for a in train_set.annotations for o in a["objects"]})
    print(f"data: {len(train_set)} train / {len(val_set)} val synthetic images, classes {classes} "
          f"({time.time() - t0:.0f}s)")
    train_loader = h.pascal_voc2007_loader(train_set, args.batch)
    val_loader = h.pascal_voc2007_loader(val_set, args.batch)

    t0 = time.time()
    backbone = h.FeatureExtractor(cifar_fallback='train' if args.backbone == 'cifar10' else 'none')
    if not backbone.pretrained:
        h.recalibrate_batchnorm(backbone, train_loader)
    if args.split < 19:
        frozen, trainable = h.split_backbone(backbone, args.split)
    else:
        frozen, trainable = backbone, torch.nn.Identity()
    train_feats = h.CachedFeatureLoader(frozen, train_loader, progress=False, hflip=args.hflip)
    val_feats = h.CachedFeatureLoader(frozen, val_loader, shuffle=False, progress=False)
    train_eval = train_feats.eval_view()
    cache_s = time.time() - t0
    print(f"backbone: {backbone.weights_source}; BatchNorm recalibration + features cached in "
          f"{cache_s:.0f}s (hflip {args.hflip}, split {args.split})", flush=True)

    results = {"images_train": len(train_set), "images_val": len(val_set), "classes": classes,
               "backbone": backbone.weights_source, "split": args.split, "hflip": args.hflip,
               "feature_cache_s": cache_s}
    runs = [("single-stage", lambda: ssd.SingleStageDetector(), 0.5),
            ("two-stage", lambda: tsd.TwoStageDetector(), 0.5)]
    for name, build, thresh in runs:
        if args.only and name != args.only:
            continue
        seed_everything(0)
        det = build()
        head_input = copy.deepcopy(trainable)   # same starting weights for both detectors
        if name == "single-stage":
            det.feat_extractor = head_input
        else:
            det.rpn.feat_extractor = head_input
        before_val = h.DetectionInference(det, val_feats, thresh=thresh, nms_thresh=0.3)["mAP"]
        before_train = h.DetectionInference(det, train_eval, thresh=thresh, nms_thresh=0.3)["mAP"]
        t0 = time.time()
        losses = h.DetectionSolver(det, train_feats, learning_rate=args.lr, optimizer='adam',
                                   weight_decay=1e-4, num_epochs=args.epochs,
                                   time_budget_s=args.budget, show_plot=False, progress=False)
        train_s = time.time() - t0
        after_val = h.DetectionInference(det, val_feats, thresh=thresh, nms_thresh=0.3)
        after_train = h.DetectionInference(det, train_eval, thresh=thresh, nms_thresh=0.3)["mAP"]
        agnostic = h.evaluate_detections(
            [(d[0], d[1], torch.zeros_like(d[2])) for d in after_val["detections"]],
            [(g[0], torch.zeros_like(g[1])) for g in after_val["ground_truths"]])["mAP"]
        per_class = {h.idx_to_class[c]: round(a, 3) for c, a in after_val["ap"].items()}
        results[name] = dict(val_untrained=before_val, train_untrained=before_train,
                             val_trained=after_val["mAP"], train_trained=after_train,
                             val_class_agnostic=agnostic, val_per_class=per_class,
                             train_seconds=train_s, iterations=len(losses),
                             loss_first=losses[0], loss_last=losses[-1])
        print(f"{name}: val mAP@0.5 untrained {before_val:.3f} -> trained {after_val['mAP']:.3f} "
              f"(train split {before_train:.3f} -> {after_train:.3f}; class-agnostic val {agnostic:.3f}); "
              f"{len(losses)} iterations in {train_s:.0f}s; loss {losses[0]:.3f} -> {losses[-1]:.3f}; "
              f"per-class val AP {per_class}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
