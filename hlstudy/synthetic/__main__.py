"""Command line: ``python -m hlstudy.synthetic --write FOLDER [--seed N] [--format csv]
[--citizens N] [--officials N | --response-rate P]``.

``--officials N`` asks for a study of about ``N`` responding officials: it sets
``simulate(..., response_rate=N / 455)`` (455 posts in the simulated census, the mapping of
``hlstudy.validation``'s scenarios), so the count varies around ``N`` with the seed.
``--response-rate P`` sets the response rate directly.  Without ``--write`` the study's
summary is printed.

Example (a thesis-sized test folder of about 100 officials and 5 citizens per commune)::

    python -m hlstudy.synthetic --write build/test-study --officials 100 --citizens 5
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hlstudy.errors import ModelError
from hlstudy.synthetic import DEFAULT_SEED, FORMATS, simulate

#: Posts of the simulated census that ``--officials`` divides by (as in
#: :data:`hlstudy.validation.replications.CENSUS_POSTS`).
CENSUS_POSTS = 455


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hlstudy.synthetic",
                                     description="Write a simulated study (labelled simulated).")
    parser.add_argument("--write", type=Path, metavar="FOLDER", help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="N",
                        help="the simulation's seed: the same seed writes the same bytes "
                             f"(default {DEFAULT_SEED}, the demonstration data)")
    parser.add_argument("--format", choices=FORMATS, default="csv")
    parser.add_argument("--citizens", type=int, default=30, help="citizens per commune")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--officials", type=int, metavar="N",
                      help=f"about N officials answer (response rate N/{CENSUS_POSTS}; "
                           f"at most {CENSUS_POSTS}, the census)")
    size.add_argument("--response-rate", type=float, metavar="P",
                      help="share of the census that answers, in (0, 1]")
    args = parser.parse_args(argv)
    kwargs = {}
    if args.officials is not None:
        if not 1 <= args.officials <= CENSUS_POSTS:
            parser.error(f"--officials must be between 1 and {CENSUS_POSTS} (the census), "
                         f"got {args.officials}")
        kwargs["response_rate"] = args.officials / CENSUS_POSTS
    elif args.response_rate is not None:
        if not 0 < args.response_rate <= 1:
            parser.error(f"--response-rate must be in (0, 1], got {args.response_rate}")
        kwargs["response_rate"] = args.response_rate
    try:
        study = simulate(seed=args.seed, n_citizens_per_commune=args.citizens, **kwargs)
    except ModelError as err:   # e.g. --citizens 0: a usage error, not a traceback
        parser.error(str(err))
    if args.write is None:
        print(study.summary())
        return 0
    for path in study.write(args.write, format=args.format):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
