"""Train both A5 detectors on the synthetic VOC set within a CPU budget and measure mAP@0.5.

Not part of CI (minutes of CPU); run once and quote its output:

    .venv/bin/python eecs498/A5/cpu_budget_run.py [--images 300] [--budget 480] [--threads 1]

The MobileNet v2 backbone (ImageNet weights when present, else random weights with BatchNorm
statistics recomputed on the training images) is split: blocks [0, --split) are frozen and
their outputs computed once; blocks [--split, 19) train with the detection heads
(--split 19: heads only, on frozen 7x7x1280 features). Each detector gets at most `--budget` seconds of training.
Output: mAP@0.5 on the validation split (and train split) before and after training.
"""
import argparse
import copy
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--budget", type=float, default=480.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--pool", type=int, default=None,
                    help="CIFAR-10 images per class shared by train and val (default: disjoint)")
    ap.add_argument("--split", type=int, default=14,
                    help="MobileNet blocks [0, split) frozen and cached, [split, 19) trained; 19 = heads only")
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
    root = write_synthetic_voc(num_images=args.images, seed=0, object_pool=args.pool)
    train_set = h.get_pascal_voc2007_data(root, "train")
    val_set = h.get_pascal_voc2007_data(root, "val")
    print(f"data: {len(train_set)} train / {len(val_set)} val synthetic images ({time.time() - t0:.0f}s)")
    train_loader = h.pascal_voc2007_loader(train_set, args.batch)
    val_loader = h.pascal_voc2007_loader(val_set, args.batch)

    t0 = time.time()
    backbone = h.FeatureExtractor()
    if not backbone.pretrained:
        h.recalibrate_batchnorm(backbone, train_loader)
    if args.split < 19:
        frozen, trainable = h.split_backbone(backbone, args.split)
    else:
        frozen, trainable = backbone, torch.nn.Identity()
    train_feats = h.CachedFeatureLoader(frozen, train_loader, progress=False)
    val_feats = h.CachedFeatureLoader(frozen, val_loader, shuffle=False, progress=False)
    train_eval = h.CachedFeatureLoader.__new__(h.CachedFeatureLoader)
    train_eval.__dict__.update(train_feats.__dict__, shuffle=False)
    print(f"backbone features cached in {time.time() - t0:.0f}s")

    results = {}
    for name, build, kwargs, thresh in [
            ("single-stage", lambda: ssd.SingleStageDetector(), dict(num_epochs=100), 0.5),
            ("two-stage", lambda: tsd.TwoStageDetector(), dict(num_epochs=100), 0.5)]:
        seed_everything(0)
        det = build()
        head_input = copy.deepcopy(trainable)   # same starting weights for both detectors
        if name == "single-stage":
            det.feat_extractor = head_input
        else:
            det.rpn.feat_extractor = head_input
        before_val = h.DetectionInference(det, val_feats, thresh=thresh, nms_thresh=0.3)["mAP"]
        t0 = time.time()
        losses = h.DetectionSolver(det, train_feats, learning_rate=1e-3, optimizer='adam',
                                   weight_decay=1e-4, time_budget_s=args.budget, show_plot=False,
                                   progress=False, **kwargs)
        train_s = time.time() - t0
        after_val = h.DetectionInference(det, val_feats, thresh=thresh, nms_thresh=0.3)
        after_train = h.DetectionInference(det, train_eval, thresh=thresh, nms_thresh=0.3)["mAP"]
        agnostic = h.evaluate_detections([(d[0], d[1], torch.zeros_like(d[2])) for d in after_val["detections"]],
                                         [(g[0], torch.zeros_like(g[1])) for g in after_val["ground_truths"]])
        print(f"{name}: class-agnostic val mAP@0.5 (object vs background) {agnostic['mAP']:.3f}")
        results[name] = (before_val, after_val["mAP"], after_train, train_s, len(losses), losses[0], losses[-1])
        print(f"{name}: val mAP@0.5 untrained {before_val:.3f} -> trained {after_val['mAP']:.3f} "
              f"(train split {after_train:.3f}); {len(losses)} iterations in {train_s:.0f}s; "
              f"loss {losses[0]:.3f} -> {losses[-1]:.3f}; per-class AP "
              + ", ".join(f"{h.idx_to_class[c]} {a:.2f}" for c, a in after_val["ap"].items()), flush=True)
    return results


if __name__ == "__main__":
    main()
