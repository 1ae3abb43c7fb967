"""Print edgembed's requirements for the extras named on the command line, from pyproject.toml.

The container build installs these in a layer of their own before it copies the code, so an
edit to edgembed/ rebuilds one small layer instead of reinstalling every dependency.

    python3 requirements.py pyproject.toml serve > requirements.txt
"""

import sys
import tomllib


def main(pyproject: str, *extras: str) -> None:
    with open(pyproject, "rb") as file:
        project = tomllib.load(file)["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    print("\n".join(dict.fromkeys(requirements)))


if __name__ == "__main__":
    main(*sys.argv[1:])
