"""`python -m streams.deploy [--check] [ROOT]`: write the generated ops files (or fail when they are stale).

`make infra` runs it from the repository root; `--check` exits 1 naming the files that differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streams.deploy.render import artefacts, stale, write


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [a for a in argv if not a.startswith("--")]
    root = Path(paths[0]) if paths else Path()
    files = artefacts()
    if check:
        differing = stale(root, files)
        for path in differing:
            print(f"stale: {path} (run `make infra`)")
        return 1 if differing else 0
    for path in write(root, files):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
