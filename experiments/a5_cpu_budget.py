"""Train both A5 detectors on the synthetic VOC set within a CPU budget and measure mAP@0.5.

Not part of CI (about 15 minutes of CPU, plus once ~17 minutes to train the CIFAR-10
backbone); from the repository root:

    .venv/bin/python -m experiments.a5_cpu_budget [--images 600] [--budget 420] [--threads 1]

Backbone: MobileNet v2 with ImageNet weights when present, else MobileNet v2 trained on the
CIFAR-10 training images (dl4cv.standins.mobilenet: trained once, cached), with its
BatchNorm statistics recomputed on the detection training images. The synthetic set's val
objects are CIFAR-10 *test* images, so neither the detectors nor the backbone have seen them.
Blocks [0, --split) of the backbone are frozen and their outputs computed once (training
images also mirrored, --hflip); blocks [--split, 19) train with the detection heads (--split 19:
heads only, on frozen 7x7x1280 features). Each detector gets at most --budget seconds of
training. Output: mAP@0.5 on the val split (and on the train split) before and after training,
plus the class-agnostic val mAP (object vs background: localization alone).

Its figures are written by the command, never typed here: experiments/results/a5_cpu_budget.json
(all figures, with the date, machine and arguments) and a5_cpu_budget.md (a summary table);
`--out ''` writes neither.
"""
import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
A5 = REPO / "eecs498" / "A5"
RESULTS = REPO / "experiments" / "results"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    ap.add_argument("--out", default=str(RESULTS / "a5_cpu_budget"),
                    help="write the figures to OUT.json and a summary to OUT.md ('' = neither)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from dl4cv.seeding import seed_everything
    from dl4cv.standins.synthetic_voc import write_synthetic_voc
    from dl4cv_tools.testing import course_module
    h = course_module(A5, "a5_helper")
    ssd = course_module(A5, "single_stage_detector")
    tsd = course_module(A5, "two_stage_detector")

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
    if args.out:
        write_results(results, vars(args), Path(args.out))
    return results


def write_results(results, args, out):
    """out.json: every figure plus when, where and how; out.md: the summary table."""
    import datetime
    import platform
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
            "command": "python -m experiments.a5_cpu_budget " + " ".join(sys.argv[1:]), "args": args}
    out.with_suffix(".json").write_text(json.dumps(dict(meta, results=results), indent=1) + "\n")
    rows = ["| detector | val mAP@0.5 untrained | trained | train split | class-agnostic val | "
            "iterations | training s |", "|---|---|---|---|---|---|---|"]
    for name in ("single-stage", "two-stage"):
        r = results.get(name)
        if r:
            rows.append(f"| {name} | {r['val_untrained']:.3f} | {r['val_trained']:.3f} | "
                        f"{r['train_trained']:.3f} | {r['val_class_agnostic']:.3f} | "
                        f"{r['iterations']} | {r['train_seconds']:.0f} |")
    out.with_suffix(".md").write_text(
        f"# EECS 498 A5 detectors on a CPU budget\n\nWritten by `{meta['command']}` on "
        f"{meta['date']} ({meta['machine']}).\n\n{results['images_train']} training / "
        f"{results['images_val']} validation synthetic images, classes {results['classes']}, "
        f"backbone {results['backbone']}, frozen blocks 0-{results['split'] - 1}, "
        f"hflip {results['hflip']}, feature cache {results['feature_cache_s']:.0f} s.\n\n"
        + "\n".join(rows) + "\n")
    print(f"figures written to {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
