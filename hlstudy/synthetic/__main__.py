"""Command line: ``python -m hlstudy.synthetic --write data/raw [--seed N] [--format csv]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hlstudy.synthetic import DEFAULT_SEED, FORMATS, simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hlstudy.synthetic",
                                     description="Write a simulated study (labelled simulated).")
    parser.add_argument("--write", type=Path, metavar="FOLDER", help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--format", choices=FORMATS, default="csv")
    parser.add_argument("--citizens", type=int, default=30, help="citizens per commune")
    args = parser.parse_args(argv)
    study = simulate(seed=args.seed, n_citizens_per_commune=args.citizens)
    if args.write is None:
        print(study.summary())
        return 0
    for path in study.write(args.write, format=args.format):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
