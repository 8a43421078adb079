"""``python -m hlstudy.validation --replications N``: see :mod:`hlstudy.validation.run`."""

import sys

from hlstudy.validation.run import main

raise SystemExit(main(sys.argv[1:]))
