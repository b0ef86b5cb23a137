"""Make a CPU copy of a checkout of the official TD-MPC2 (nicklashansen/tdmpc2).

``python -m worldflux_backends.tdmpc2_cpu SRC_CHECKOUT DEST`` copies the checkout
``SRC_CHECKOUT`` (the repository root, or its ``tdmpc2/`` folder) to ``DEST`` and
rewrites the lines that tie the official training code to ``cuda:0``
(:data:`EDITS`): the agent, running scale and replay buffer devices become
``cpu``, the world model stays where it is built (its ``to()`` fails on the
CPU, on the Q-function copies it keeps on the meta device), Adam is built with
``capturable=False`` (torch refuses capturable Adam on CPU tensors), the replay
buffer no longer asks CUDA for its free memory, and ``train.py`` no longer
asserts that CUDA is available. The original checkout is not touched.

Every edit must find its official text exactly once. If one does not (the
official code moved on, or ``SRC_CHECKOUT`` is already a CPU copy), nothing is
written and the error names each file and the text it expected. ``DEST`` must
not exist or be an empty directory. The changes are printed and recorded in
``DEST/WORLDFLUX_CPU_COPY.txt``.

The copy is recognised by the backend's own check
(:func:`worldflux_backends.tdmpc2_torch.cuda_markers`): with
``WORLDFLUX_TDMPC2_ALLOW_CPU=1`` (or ``allow_cpu=True``) a checkout is accepted
on a machine without a GPU when none of the lines these edits replace remain.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from worldflux.errors import BackendError

RECORD_FILE = "WORLDFLUX_CPU_COPY.txt"
COMMAND = "python -m worldflux_backends.tdmpc2_cpu"


class Edit(NamedTuple):
    """Replace ``old`` (which must occur exactly once) by ``new`` in ``file`` (relative to the tdmpc2/ folder)."""

    file: str
    old: str
    new: str
    why: str


EDITS: tuple[Edit, ...] = (
    Edit("tdmpc2.py", "self.device = torch.device('cuda:0')", "self.device = torch.device('cpu')",
         "the agent's device"),
    Edit("tdmpc2.py", "self.model = WorldModel(cfg).to(self.device)", "self.model = WorldModel(cfg)",
         "built on the CPU already; WorldModel.to() fails on its meta-device Q-function copies"),
    Edit("tdmpc2.py", "lr=self.cfg.lr, capturable=True)", "lr=self.cfg.lr, capturable=False)",
         "world-model Adam: capturable needs CUDA tensors"),
    Edit("tdmpc2.py", "eps=1e-5, capturable=True)", "eps=1e-5, capturable=False)",
         "policy Adam: capturable needs CUDA tensors"),
    Edit("tdmpc2.py", "device='cuda:0'", "device='cpu'", "the multi-task discount tensor"),
    Edit("common/scale.py", "torch.ones(1, dtype=torch.float32, device=torch.device('cuda:0'))",
         "torch.ones(1, dtype=torch.float32, device=torch.device('cpu'))", "running scale value buffer"),
    Edit("common/scale.py", "torch.tensor([5, 95], dtype=torch.float32, device=torch.device('cuda:0'))",
         "torch.tensor([5, 95], dtype=torch.float32, device=torch.device('cpu'))",
         "running scale percentiles buffer"),
    Edit("common/buffer.py", "self._device = torch.device('cuda:0')", "self._device = torch.device('cpu')",
         "the replay buffer's sampling device"),
    Edit("common/buffer.py", "mem_free, _ = torch.cuda.mem_get_info()", "mem_free = 0  # CPU copy: no CUDA query",
         "no CUDA free-memory query"),
    Edit("common/buffer.py", "storage_device = 'cuda:0' if 2.5*total_bytes < mem_free else 'cpu'",
         "storage_device = 'cpu'", "replay storage in CPU memory"),
    Edit("train.py", "assert torch.cuda.is_available()", "pass  # CPU copy: the CUDA assert is removed",
         "no CUDA assert"),
)


def source_folder(checkout: Path) -> tuple[Path, Path]:
    """``(root to copy, its tdmpc2/ source folder)`` for a checkout given as the repository root or its tdmpc2/."""
    checkout = checkout.expanduser()
    if (checkout / "tdmpc2" / "train.py").is_file():
        return checkout, checkout / "tdmpc2"
    if (checkout / "train.py").is_file() and (checkout / "tdmpc2.py").is_file():
        return checkout, checkout
    raise BackendError(f"{checkout} is not a checkout of the official TD-MPC2: neither {checkout / 'tdmpc2' / 'train.py'} "
                       f"nor {checkout / 'train.py'} exists (clone https://github.com/nicklashansen/tdmpc2)")


def patched_files(folder: Path, edits: Sequence[Edit] = EDITS) -> dict[str, str]:
    """The new text of every file ``edits`` touch under ``folder`` (a tdmpc2/ source folder); raises
    :class:`BackendError`, naming every edit that does not apply, if one does not find its text exactly once."""
    texts: dict[str, str] = {}
    failures = []
    for edit in edits:
        if edit.file not in texts:
            try:
                texts[edit.file] = (folder / edit.file).read_text()
            except OSError as exc:
                failures.append(f"{folder / edit.file}: cannot be read ({exc.strerror or exc})")
                texts[edit.file] = ""
                continue
        count = texts[edit.file].count(edit.old)
        if count != 1:
            found = "not found" if count == 0 else f"found {count} times"
            failures.append(f"{folder / edit.file}: expected exactly one {edit.old!r}, {found}")
            continue
        texts[edit.file] = texts[edit.file].replace(edit.old, edit.new)
    if failures:
        copied = any((d / RECORD_FILE).exists() for d in (folder, folder.parent))
        hint = ("it is already a CPU copy" if copied else
                "the official code has changed since this command was written; make these edits by hand")
        raise BackendError("cannot make a CPU copy, nothing was written (" + hint + "):\n- " + "\n- ".join(failures))
    return texts


def _check_dest(root: Path, dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise BackendError(f"{dest} exists and is not a directory: choose a new or empty DEST")
    if dest.is_dir() and any(dest.iterdir()):
        raise BackendError(f"{dest} is not empty: the CPU copy is written only to a new or empty directory")
    resolved_root, resolved_dest = root.resolve(), dest.resolve()
    if resolved_dest == resolved_root or resolved_root in resolved_dest.parents:
        raise BackendError(f"{dest} is inside the checkout {root}: choose a DEST outside it")


def describe(edit: Edit) -> str:
    return f"{edit.file}: {edit.old!r} -> {edit.new!r} ({edit.why})"


def prepare_cpu_copy(checkout: str | Path, dest: str | Path) -> list[str]:
    """Copy ``checkout`` to ``dest`` and apply :data:`EDITS` there; the list of changes, one line each.

    Everything is checked before anything is written: a checkout where an edit does not find its text exactly
    once, or a ``dest`` that is a file or a non-empty directory, raises :class:`BackendError`.
    """
    root, folder = source_folder(Path(checkout))
    dest = Path(dest).expanduser()
    _check_dest(root, dest)
    texts = patched_files(folder)
    rel_folder = folder.relative_to(root)
    prefix = "" if rel_folder == Path(".") else f"{rel_folder.as_posix()}/"
    shutil.copytree(root, dest, symlinks=True, dirs_exist_ok=True)
    for rel, text in texts.items():
        target = dest / rel_folder / rel
        target.unlink()  # a fresh file, never written through a link shared with the original
        target.write_text(text)
    changes = [prefix + describe(e) for e in EDITS]
    (dest / RECORD_FILE).write_text(
        f"CPU copy of the official TD-MPC2 checkout {root.resolve()}, made by `{COMMAND}`.\n"
        f"The official code is otherwise unchanged. Changes (file: old -> new):\n" +
        "".join(f"- {c}\n" for c in changes))
    return changes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Copy a checkout of the official TD-MPC2 and make the copy run on CPU "
        "(devices cpu, no model.to(), Adam capturable=False, no CUDA memory query, no CUDA assert in train.py).")
    parser.add_argument("checkout", help="a clone of https://github.com/nicklashansen/tdmpc2 (left unchanged)")
    parser.add_argument("dest", help="where the CPU copy is written: a new or empty directory")
    args = parser.parse_args(argv)
    try:
        changes = prepare_cpu_copy(args.checkout, args.dest)
    except BackendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    dest = Path(args.dest).expanduser().resolve()
    print(f"CPU copy written to {dest}; {len(changes)} changes:")
    for change in changes:
        print(f"  {change}")
    print(f"Run it with WORLDFLUX_TDMPC2_CHECKOUT={dest} WORLDFLUX_TDMPC2_ALLOW_CPU=1 (see docs/backends.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
