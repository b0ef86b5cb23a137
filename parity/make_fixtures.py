"""Regenerate the committed parity fixtures by running the official code, or check that it reproduces them.

Each fixture directory holds the ``request.json`` it was made from. This script
runs the family's probe (the official code, in its own environment) on every
request, then compares the native model with the result, as CI does with the
committed copy:

    python parity/make_fixtures.py tdmpc2 --python ~/tdmpc2-env/bin/python --checkout ~/tdmpc2
    python parity/make_fixtures.py dreamerv3 --check   # $WORLDFLUX_DREAMERV3_PYTHON / _CHECKOUT

``--check`` writes into a temporary directory and compares every recorded
array and scalar with the committed fixture instead of replacing it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from worldflux.parity.check import compare_fixture, official_setup, run_probe
from worldflux.parity.table import compare_arrays, format_rows
from worldflux.state import catalog

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = {"tdmpc2": ROOT / "worldflux-tdmpc2/tests/fixtures/official",
            "dreamerv3": ROOT / "worldflux-dreamer/tests/fixtures/official"}
REPRODUCE_RTOL = 1e-6  # the same official code on the same machine kind: equal up to float rounding


def _scalars(data: object, prefix: str = "") -> dict[str, float]:
    """Every number in a JSON tree (a fixture's ``scalars``: the official results), by its path."""
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in _scalars(value, f"{prefix}{key}.").items()}
    if isinstance(data, list):
        return {k: v for i, value in enumerate(data) for k, v in _scalars(value, f"{prefix}{i}.").items()}
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return {prefix.rstrip("."): float(data)}
    return {}


def reproduction_rows(committed: Path, fresh: Path) -> list:
    """Rows comparing a fresh fixture with the committed one, array by array and scalar by scalar."""
    rows = []
    with np.load(committed / "arrays.npz", allow_pickle=False) as old, np.load(fresh / "arrays.npz",
                                                                               allow_pickle=False) as new:
        for name in sorted(set(old.files) | set(new.files)):
            if name not in old.files or name not in new.files:
                rows.append(compare_arrays(f"array {name} (missing on one side)", np.zeros(1), np.full(1, np.inf)))
            elif old[name].dtype.kind in "fiub":
                rows.append(compare_arrays(f"array {name}", old[name], new[name], REPRODUCE_RTOL))
    old_scalars, new_scalars = (_scalars(json.loads((d / "fixture.json").read_text()).get("scalars", {}))
                                for d in (committed, fresh))
    for name in sorted(old_scalars):
        rows.append(compare_arrays(f"scalar {name}", old_scalars[name], new_scalars.get(name, np.inf),
                                   REPRODUCE_RTOL))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=sorted(FIXTURES))
    parser.add_argument("--python", help="the official environment's interpreter")
    parser.add_argument("--checkout", help="the official checkout")
    parser.add_argument("--check", action="store_true", help="compare with the committed fixtures, write nothing")
    args = parser.parse_args()
    official = catalog().official_of_family(args.family)
    python, checkout = official_setup(official, args.python, args.checkout)
    failed = 0
    for fixture in sorted(p.parent for p in FIXTURES[args.family].glob("*/request.json")):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) if args.check else fixture
            run_probe(official, fixture / "request.json", out, python=python, checkout=checkout)
            rows = reproduction_rows(fixture, out) if args.check else compare_fixture(official, out)
            print(f"\n{fixture.name}: {'reproduced from' if args.check else 'native against'} the official code")
            for cells in format_rows(rows):
                print("  ".join(cells))
        failed += sum(not r.ok for r in rows)
    print(f"\n{failed} quantities outside tolerance")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
