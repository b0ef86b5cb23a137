"""The background worker of a submitted run: ``python -m worldflux.training.worker RUN_DIR``."""

from __future__ import annotations

import os
import sys
import traceback

from worldflux.log import log_to_stderr
from worldflux.runs import write_status
from worldflux.training.trainer import Trainer


def main(run_dir: str) -> int:
    log_to_stderr()
    write_status(run_dir, "running", pid=os.getpid())
    try:
        summary = Trainer.resume(run_dir).fit()
    except BaseException as exc:  # noqa: BLE001 - any failure must reach status.json
        traceback.print_exc()
        write_status(run_dir, "failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    write_status(run_dir, "cancelled" if summary["stopped"] else "finished", summary=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
