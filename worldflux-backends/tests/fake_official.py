"""Stands in for an official implementation in the bridge tests: writes JSON metrics lines, then exits.

``python fake_official.py METRICS_FILE LINES SLEEP_S EXIT_CODE``; each line is
``{"step": 10 * i, "episode/score": i}`` plus a line the translator skips.
"""

import json
import sys
import time

path, lines, sleep_s, code = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
for i in range(1, lines + 1):
    with open(path, "a") as f:
        f.write(json.dumps({"step": 10 * i, "episode/score": float(i)}) + "\n")
        f.write(json.dumps({"step": 10 * i, "fps/policy": 3.0}) + "\n")
    time.sleep(sleep_s)
print("fake official run says goodbye", file=sys.stderr)
sys.exit(code)
