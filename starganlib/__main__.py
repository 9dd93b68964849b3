"""Command line: ``python -m starganlib {data,train,sample,translate,eval,bench} ...``
(``--help`` on each)."""
import argparse
import sys
from pathlib import Path

import torch


CUSTOM_TRAINING = """\
your own images: python -m starganlib data prepare PHOTOS --out DIR --size 64, then
  train --preset custom --dataset DIR (the toy preset scaled to DIR's image size; one domain
  per folder of DIR/train). Each domain needs at least a batch (8) of training photos and one
  for validation; for comparison toyfaces has 1,000 per domain, AFHQ about 5,000.
  Measured on a 2-core CPU (1 thread, python -m starganlib bench), seconds per iteration
  and the preset's 3,000 iterations: 32 px 0.36 s (18 min), 64 px 1.55 s (1.3 h),
  128 px 7.4 s (6 h). GPU times were not measured.
"""


def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return name


def _add_data(sub) -> None:
    from .data.download import SOURCES
    from .data.prepare import FITS
    from .v2.config import PRESETS
    p = sub.add_parser("data", help="generate toyfaces, download a real dataset, or prepare "
                                    "your own photos")
    kinds = p.add_subparsers(dest="name", required=True)
    toy = kinds.add_parser("toyfaces", help="generate the embedded dataset")
    toy.add_argument("--size", type=int, default=64, help="image size, 32..256 (default 64)")
    toy.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    toy.add_argument("--root", type=Path, default=None,
                     help="output folder (default: the course's data/ folder)")
    for name in SOURCES:
        real = kinds.add_parser(name, help=f"download and extract {name}")
        real.add_argument("--root", type=Path, default=None,
                          help="output folder (default: the course's data/ folder)")
        real.add_argument("--sha256", default=None, help="expected SHA-256 of the archive")
    prep = kinds.add_parser(
        "prepare", help="your own photos -> the train/val layout the trainers read",
        description="Read SRC/<domain>/ folders of photos (any size and aspect, JPEG, PNG, WebP, "
                    "BMP, TIFF; grey, RGBA and 16-bit converted; unreadable files skipped and "
                    "reported) and write OUT/train/<domain>/*.png, OUT/val/<domain>/*.png and "
                    "OUT/prepare.json. OUT appears only when complete.")
    prep.add_argument("src", type=Path, help="folder with one sub-folder of photos per domain")
    prep.add_argument("--out", type=Path, required=True, help="new (or empty) dataset folder")
    prep.add_argument("--size", type=int, default=64, help="output size in px, a power of two "
                                                           ">= 16 (default 64)")
    prep.add_argument("--fit", choices=FITS, default="crop",
                      help="crop: the centre square (default); pad: the whole photo on a black "
                           "square")
    prep.add_argument("--val-fraction", type=float, default=0.1,
                      help="share of each domain held out for validation (default 0.1)")
    prep.add_argument("--seed", type=int, default=0, help="seed of the train/val split (default 0)")
    batch = PRESETS["toy"].batch_size
    prep.add_argument("--batch-size", type=int, default=batch,
                      help=f"the training batch: each domain needs at least this many training "
                           f"photos (default {batch}, the custom preset's)")


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train StarGAN v2 (default) or v1",
                       description="Train into --out (checkpoints, losses.csv, samples/, "
                                   "metrics.json). Ctrl-C saves a checkpoint; --resume continues.",
                       epilog=CUSTOM_TRAINING, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=("v2", "v1"), default="v2")
    p.add_argument("--preset",
                   help="v2: toy (default), afhq, celeba-hq, custom (your own --dataset: the toy "
                        "preset scaled to its image size); v1: toy-v1 (default), toy-v1-joint, "
                        "celeba-paper")
    p.add_argument("--dataset", help="dataset folder with train/<domain> and val/<domain> (v2)")
    p.add_argument("--num-domains", type=int, help="number of domain folders (v2; custom: read "
                                                   "from --dataset)")
    p.add_argument("--img-size", type=int, help="custom: default the size `data prepare` wrote")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--iters", type=int, help="total training iterations")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", type=Path, help="run folder (default runs/<model>-<preset>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto (default)")
    p.add_argument("--workers", type=int, default=0, help="data-loading processes (default 0)")
    p.add_argument("--precision", choices=("fp32", "bf16"),
                   help="bf16 autocasts the forward passes (faster on recent CPUs and GPUs)")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the generator: minutes of compiling, then faster (v2)")
    p.add_argument("--skip-bad-images", action="store_true", default=None,
                   help="leave unreadable images out with a warning instead of stopping (v2)")


def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="result grids from a checkpoint (v2: latent- and "
                                      "reference-guided; v1: every test target)")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--model", choices=("v2", "v1"), default="v2")
    p.add_argument("--src", type=Path, help="v2: folder of source images per domain")
    p.add_argument("--ref", type=Path, help="v2: folder of reference images per domain")
    p.add_argument("--count", type=int, default=8,
                   help="v2: sources (and references) used; v1: test images (rows)")
    p.add_argument("--official", metavar="PRESET", choices=("afhq",),
                   help="v2: the checkpoint is an official 100000_nets_ema.ckpt of this preset "
                        "(celeba-hq needs the FAN face masks, which are not bundled)")
    p.add_argument("--image-root", type=Path, help="v1: image folder (default: the "
                                                   "checkpoint's dataset)")
    p.add_argument("--attr-file", type=Path, help="v1: attribute file (default: the "
                                                  "checkpoint's)")
    p.add_argument("--device", default="auto")


def _add_translate(sub) -> None:
    from .data.prepare import FITS
    p = sub.add_parser(
        "translate", help="translate your own pictures (v2: to a domain; v1: to attributes)",
        description="Translate picture files with a checkpoint of `train` or an official StarGAN "
                    "v2 file. Writes OUT/<name>_<target>.png per picture (and with --strip "
                    "<name>_<target>_strip.png: input | output).")
    p.add_argument("pictures", nargs="+", type=Path, help="picture files (JPEG, PNG, WebP, ...)")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--domain", help="v2: the target domain (a name, or its index)")
    p.add_argument("--ref", type=Path,
                   help="v2: a reference picture of the target domain, whose style is used "
                        "(default: a latent code drawn with --seed)")
    p.add_argument("--seed", type=int, default=0, help="v2: seed of the latent code (default 0)")
    p.add_argument("--psi", type=float, default=1.0,
                   help="v2: truncation toward the domain's mean style, 1 = none (default), "
                        "0 = the mean style")
    p.add_argument("--attrs", help="v1: target attributes, e.g. Black_Fur=1,Glasses=0 (those "
                                   "not given are 0)")
    p.add_argument("--official", metavar="PRESET", choices=("afhq",),
                   help="the checkpoint is an official 100000_nets_ema.ckpt of this preset")
    p.add_argument("--strip", action="store_true", help="also write input | output strips")
    p.add_argument("--fit", choices=FITS, default="crop",
                   help="crop: the centre square (default); pad: the whole picture on black")
    p.add_argument("--device", default="auto")


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="the official protocol: FID and diversity for every pair of "
                                    "domains, latent- and reference-guided (+ oracle on toyfaces)")
    p.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint of our training")
    p.add_argument("--dataset", type=Path,
                   help="folder with train/ and val/ (default: the checkpoint's dataset)")
    p.add_argument("--num-outs", type=int, default=10, help="outputs per source image (official 10)")
    p.add_argument("--batch-size", type=int, default=32, help="source images per batch")
    p.add_argument("--out", type=Path, help="folder for eval.json (default: next to the checkpoint)")
    p.add_argument("--device", default="auto")


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="seconds per training iteration and peak memory")
    p.add_argument("--configs", default="toy,toy-bf16,toy-compile,custom-64,afhq-64,afhq-64-bf16,"
                                        "toy-v1,toy-v1-bf16,v1-64,v1-64-bf16,v1-128,v1-128-bf16",
                   help="comma-separated; each -bf16 config is its fp32 twin under bf16 "
                        "autocast, each -compile one its twin with a compiled generator")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="auto")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m starganlib", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for add in (_add_data, _add_train, _add_sample, _add_translate, _add_eval, _add_bench):
        add(sub)
    return p


def cmd_data(args) -> None:
    if args.name == "prepare":
        from .data.prepare import prepare
        print(prepare(args.src, args.out, args.size, args.fit, args.val_fraction, args.seed,
                      args.batch_size))
        return
    if args.name == "toyfaces":
        from .data.toyfaces import ensure_toyfaces, generate
        root = generate(args.root, args.size, seed=args.seed) if args.root else \
            ensure_toyfaces(size=args.size, seed=args.seed)
    else:
        from .data.download import fetch_dataset
        from .runtime.paths import data_dir
        root = fetch_dataset(args.name, args.root or data_dir(), sha256=args.sha256)
    print(root)


def _overrides(args, names: dict) -> dict:
    return {field: getattr(args, arg) for arg, field in names.items()
            if getattr(args, arg, None) is not None}


DEFAULT_PRESETS = {"v2": "toy", "v1": "toy-v1"}


def cmd_train(args) -> None:
    device = _device(args.device)
    args.preset = args.preset or DEFAULT_PRESETS[args.model]
    out = args.out or Path("runs") / f"{args.model}-{args.preset}"
    if args.model == "v2":
        from .v2.config import preset
        from .v2.run import train
        cfg = preset(args.preset, **_overrides(args, {
            "dataset": "dataset", "num_domains": "num_domains", "img_size": "img_size",
            "batch_size": "batch_size", "iters": "total_iters", "seed": "seed",
            "skip_bad_images": "skip_bad_images", "precision": "precision", "compile": "compile"}))
        summary = train(cfg, out, resume=args.resume, device=device, num_workers=args.workers)
    else:
        from .v1.config import PRESETS
        from .v1.run import train
        if args.compile:
            raise ValueError("--compile is for StarGAN v2 (--model v2)")
        if args.preset not in PRESETS:
            raise ValueError(f"unknown v1 preset {args.preset!r}; choose one of {', '.join(PRESETS)}")
        cfg = PRESETS[args.preset].replace(**_overrides(args, {
            "img_size": "image_size", "batch_size": "batch_size", "iters": "num_iters",
            "seed": "seed", "precision": "precision"}))
        summary = train(cfg, out, resume=args.resume, device=device)
    print(f"run folder: {out}\n{summary}")


def cmd_sample(args) -> None:
    device = _device(args.device)
    if args.model == "v1":
        from .v1.sample import sample
        print(sample(args.checkpoint, args.image_root, args.attr_file, args.out / "results.png",
                     args.count, device))
        return
    if args.src is None or args.ref is None:
        raise ValueError("sample --model v2 needs --src and --ref (folders of images per domain)")
    from .v2.sample import sample_folders
    for path in sample_folders(args.checkpoint, args.src, args.ref, args.out, args.count,
                               device, official=args.official):
        print(path)


def cmd_translate(args) -> None:
    from .translate import translate_files
    for path in translate_files(args.pictures, args.out, args.checkpoint, args.domain, args.ref,
                                args.attrs, args.official, args.seed, args.psi, args.strip,
                                args.fit, _device(args.device)):
        print(path)


def cmd_eval(args) -> None:
    import json
    from .v2.eval_protocol import evaluate, format_table, official_judges
    from .v2.run import dataset_root
    from .v2.sample import load_ema_nets
    device = _device(args.device)
    nets, cfg = load_ema_nets(args.checkpoint, device)
    if args.dataset is not None:
        cfg = cfg.replace(dataset=str(args.dataset))
    root = dataset_root(cfg)
    judge = None
    if cfg.dataset == "toyfaces":
        from .data.folders import DomainFolder
        from .v2.evaluate import toyfaces_judge
        judge = toyfaces_judge(root, DomainFolder(root / "val", cfg.img_size), device)
    report = evaluate(nets, cfg, root, official_judges(device, judge and judge.oracle,
                                                       judge and judge.factors),
                      args.num_outs, args.batch_size, device=device)
    out = args.out or args.checkpoint.parent.parent / "eval"
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(report, indent=2))
    print(format_table(report))
    print(f"written: {out / 'eval.json'}")


def cmd_bench(args) -> None:
    from .bench import run
    run(args.configs.split(","), args.iters, args.warmup, _device(args.device))


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    commands = {"data": cmd_data, "train": cmd_train, "sample": cmd_sample,
                "translate": cmd_translate, "eval": cmd_eval, "bench": cmd_bench}
    try:
        commands[args.command](args)
    except KeyboardInterrupt as e:
        print(f"\n{e}", file=sys.stderr)
        sys.exit(130)
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
