"""Rebuild the real-question dev sets from the Debian packages their FAQs ship in.

    python benchmarks/devsets/build.py                 # every set
    python benchmarks/devsets/build.py perlfaq cvsfaq  # some of them

Needs `apt-get download` (run `apt-get update` once) and `dpkg-deb`. Each set is written to
benchmarks/devsets/<name>/ (docs/, questions.jsonl, SOURCE.md); the packages are cached in
--cache.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cvsfaq
import editorfaq
import fetchmailfaq
import perlfaq
from devset import DevSet, write_devset

BUILDERS: dict[str, Callable[[Path], DevSet]] = {
    "perlfaq": perlfaq.build,
    "cvsfaq": cvsfaq.build,
    "fetchmailfaq": fetchmailfaq.build,
    "editorfaq": editorfaq.build,
}
HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"sets to build: {', '.join(BUILDERS)}")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/edgembed-devsets"))
    parser.add_argument("--out", type=Path, default=HERE, help="folder that holds the sets")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BUILDERS))
    if unknown:
        parser.error(f"unknown sets {unknown}: choose from {', '.join(BUILDERS)}")
    for name in args.names or list(BUILDERS):
        counts = write_devset(BUILDERS[name](args.cache), args.out / name)
        print(f"{name}: " + ", ".join(f"{key} {value}" for key, value in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
