"""A tiny training run in a fresh process: ``python tiny_run.py MODEL ENV RUN_DIR [--kill-on-commit N]
[--kill-after-record STEP] [--resume]``.

With ``--kill-on-commit N`` the process SIGKILLs itself during its N-th
checkpoint, after the tensors are on disk and before ``state.json`` commits;
with ``--kill-after-record STEP``, right after writing the metrics record of
that env step.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from training_helpers import short_run, tiny_model  # noqa: E402

import worldflux.training.checkpoint as checkpoint  # noqa: E402
from worldflux.training import Trainer  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("env")
parser.add_argument("run_dir")
parser.add_argument("--kill-on-commit", type=int, default=0)
parser.add_argument("--kill-after-record", type=int, default=0)
parser.add_argument("--resume", action="store_true")
args = parser.parse_args()

if args.kill_after_record:
    import worldflux.runs.metrics as metrics

    real_record = metrics.MetricsLog.write

    def record_or_die(self, record):  # type: ignore[no-untyped-def]
        real_record(self, record)
        if record["step"] == args.kill_after_record:
            os.kill(os.getpid(), signal.SIGKILL)

    metrics.MetricsLog.write = record_or_die

if args.kill_on_commit:
    commits = 0
    real_write = checkpoint.write_json_atomic

    def write_or_die(path, data):  # type: ignore[no-untyped-def]
        global commits
        commits += 1
        if commits == args.kill_on_commit:
            os.kill(os.getpid(), signal.SIGKILL)
        real_write(path, data)

    checkpoint.write_json_atomic = write_or_die

if args.resume:
    Trainer.resume(args.run_dir).fit()
else:
    Trainer(tiny_model(args.model, args.env), short_run(Path(args.run_dir), args.env)).fit()
