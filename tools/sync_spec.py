"""Copy spec/schemas and spec/vectors into the blissdata_core package (_spec/).

    python -m tools.sync_spec          # copy
    python -m tools.sync_spec --check  # exit 1 when the packaged copy differs

spec/ is the source of truth; the package ships a copy so that installed
clients can validate documents and run the vectors without a checkout.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"
PACKAGED = ROOT / "packages" / "blissdata-core" / "src" / "blissdata_core" / "_spec"
PARTS = ("schemas", "vectors")


def differences() -> list[str]:
    """Files that differ, or exist on one side only (paths relative to spec/)."""
    out = []
    for part in PARTS:
        src, dst = SPEC / part, PACKAGED / part
        names = {p.name for p in src.glob("*.json")} | {p.name for p in dst.glob("*.json")}
        for name in sorted(names):
            a, b = src / name, dst / name
            if not (a.exists() and b.exists() and filecmp.cmp(a, b, shallow=False)):
                out.append(f"{part}/{name}")
    return out


def sync() -> None:
    PACKAGED.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        dst = PACKAGED / part
        dst.mkdir(exist_ok=True)
        for stale in dst.glob("*.json"):
            if not (SPEC / part / stale.name).exists():
                stale.unlink()
        for src in (SPEC / part).glob("*.json"):
            shutil.copyfile(src, dst / src.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report differences")
    args = parser.parse_args()
    if args.check:
        diff = differences()
        for name in diff:
            print(f"differs: {name}")
        return 1 if diff else 0
    sync()
    print(f"copied spec/{{{','.join(PARTS)}}} into {PACKAGED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
