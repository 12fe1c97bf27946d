"""Train one of the EECS 498 A6 GANs under several seeds and score each, to tell a recipe's
effect from one run's luck.

    python -m experiments.gan_seeds --seeds 0 1 2 --augment-shift 0 2      # DCGAN, course updates
    python -m experiments.gan_seeds --model vanilla_gan --iters 200 --seeds 0

Each (seed, shift) run follows the notebook's recipe: `reset_seed(seed)`, the course's
weight initialization and Adam settings, every MNIST image on disk in batches of 128 (the
loader shuffled with `seed`), `augment_shift` pixels of random translation of D's inputs,
then 1,000 samples (noise seeded with 5) scored by `dl4cv.standins.mnist_scorer`. Prints one line
per run and a summary table; `--json PATH` keeps the figures.
"""
import argparse
import json
import sys
import time

MODELS = ("dcgan", "vanilla_gan", "lsgan")
COURSE_UPDATES = {"dcgan": 2345, "vanilla_gan": 4690, "lsgan": 4690}  # 5 / 10 epochs of 60,000


def train_and_score(model="dcgan", seed=0, augment_shift=0, iters=None, verbose=True) -> dict:
    """One seeded run of an A6 GAN; returns its scores (see dl4cv.standins.mnist_scorer.score_samples)."""
    import numpy as np
    from dl4cv.gan_tools import mnist_loader, score_generator
    from dl4cv.standins.mnist_scorer import load_scorer
    from dl4cv_tools.testing import course_module
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    gan = course_module("eecs498/A6", "gan")
    helper = course_module("eecs498/A6", "a6_helper")
    from eecs598 import reset_seed  # on sys.path once the A6 folder is
    iters = iters or COURSE_UPDATES[model]
    loader = mnist_loader(128, seed=seed, verbose=False)
    reset_seed(seed)
    if model == "dcgan":
        D, G = gan.build_dc_classifier(), gan.build_dc_generator()
    else:
        D, G = gan.discriminator(), gan.generator()
    D.apply(helper.initialize_weights)
    G.apply(helper.initialize_weights)
    d_loss, g_loss = ((gan.ls_discriminator_loss, gan.ls_generator_loss) if model == "lsgan"
                      else (gan.discriminator_loss, gan.generator_loss))
    history = {}
    gan.run_a_gan(D, G, gan.get_optimizer(D), gan.get_optimizer(G), d_loss, g_loss, loader,
                  show_every=10 ** 9, num_epochs=int(np.ceil(iters / len(loader))), max_iters=iters,
                  history=history, verbose=verbose, augment_shift=augment_shift)
    reset_seed(5)
    stats = score_generator(G, lambda n: gan.sample_noise(n, gan.NOISE_DIM), 1000,
                            load_scorer(verbose=False))
    fractions = np.asarray(stats["class_fractions"])
    return {"model": model, "seed": seed, "augment_shift": augment_shift, "iterations": history["iterations"],
            "seconds": round(history["seconds"], 1), "class_fractions": fractions.round(3).tolist(),
            "smallest_digit": int(fractions.argmin()), "min_class_fraction": float(fractions.min()),
            "mean_max_prob": round(float(stats["mean_max_prob"]), 4)}


def format_run(r) -> str:
    return (f"{r['model']} seed {r['seed']} shift {r['augment_shift']}: smallest digit {r['smallest_digit']} "
            f"at {100 * r['min_class_fraction']:.1f}%, mean max-probability {r['mean_max_prob']:.3f} "
            f"({r['iterations']} updates, {r['seconds']:.0f} s)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dcgan", choices=MODELS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--augment-shift", type=int, nargs="+", default=[0, 2],
                        help="pixels of random translation of D's inputs (0 = the course's loop)")
    parser.add_argument("--iters", type=int, default=None, help="updates per run (default: the course's)")
    parser.add_argument("--json", default=None, help="write the runs' figures here")
    args = parser.parse_args(argv)
    if any(s < 0 for s in args.augment_shift):
        parser.error("--augment-shift values must be >= 0")
    runs = []
    start = time.perf_counter()
    for shift in args.augment_shift:
        for seed in args.seeds:
            runs.append(train_and_score(args.model, seed, shift, args.iters, verbose=sys.stderr.isatty()))
            print(format_run(runs[-1]), flush=True)
    print(f"\n| shift | seed | smallest digit | its share | mean max-prob |\n|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['augment_shift']} | {r['seed']} | {r['smallest_digit']} | "
              f"{100 * r['min_class_fraction']:.1f}% | {r['mean_max_prob']:.3f} |")
    print(f"{len(runs)} runs in {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
