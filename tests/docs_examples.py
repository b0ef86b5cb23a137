"""The code blocks of README.md and docs/**/*.md: found, then run as a reader would run them.

Imported by ``tests/test_docs.py`` for :func:`blocks`; run as a script (``python docs_examples.py SPEC
RESULTS``) to execute one file's blocks in order, in one fresh namespace, writing each block's outcome.

- ```` ```python ```` blocks run with ``exec`` in one namespace per file, so later blocks use earlier names.
  Tracebacks name the Markdown file and its own line numbers.
- ```` ```bash ````, ```` ```sh ````, ```` ```shell ```` and ```` ```console ```` blocks (``$ `` lines for
  console) run their ``worldflux ...`` lines, and ``export`` / ``echo`` lines, with bash, all in the
  working directory; other lines (``pip install``, ``git clone``, ``python script.py``, ...) are not run.
  A shell block without a ``worldflux`` line is not a test.
- Other fences (``toml``, ``text``, none) are not run.

Markers are HTML comments on the last non-blank line(s) before a fence (hidden on GitHub and on the site):

- ``<!-- docs-test: skip (why) -->``: the block is not run; pytest reports it skipped with ``why``.
  For blocks that cannot run in CI: an official checkout, a GPU, minutes of training, placeholders.
- ``<!-- docs-test: setup`` ... ``-->``: the comment's body is Python run just before the next block, in the
  same namespace (e.g. to define tensors a snippet takes as given). Keep it short. ``$DOCS_REPO_ROOT`` is
  the repository root.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path

PYTHON = ("python", "py", "python3", "pycon")
SHELL = ("bash", "sh", "shell", "console", "zsh")
RUNNABLE = ("worldflux", "export", "echo")  # first words of the shell lines that run
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)")
MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>skip|setup)\b(?P<body>.*?)-->", re.DOTALL)
SHELL_TIMEOUT_S = 180


def run_group(cmd: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` in a new process group that is killed whole on timeout: a timed-out example must not
    leave a training process behind (subprocess.run kills only the direct child)."""
    with subprocess.Popen(cmd, start_new_session=True, text=True, **kwargs) as proc:  # type: ignore[call-overload]
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, 9)
            exc.stdout, exc.stderr = proc.communicate()
            raise
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@dataclass
class Block:
    path: str        # relative to the repository root, e.g. "docs/tdmpc2.md"
    line: int        # 1-based line of the opening fence
    kind: str        # "python" or "shell"
    code: str        # python source, or the shell commands that run (one per line)
    skip: str | None = None    # the reason of a skip marker
    setup: str | None = None   # hidden set-up code of a setup marker
    setup_line: int = 0        # 1-based line of the setup code's first line
    not_run: tuple[str, ...] = ()  # shell lines that are shown but not run


def _marker(lines: list[str], fence: int) -> tuple[re.Match[str] | None, int]:
    """The docs-test comment ending on the last non-blank line before line index ``fence``, and its start index."""
    end = fence - 1
    while end >= 0 and not lines[end].strip():
        end -= 1
    if end < 0 or not lines[end].rstrip().endswith("-->"):
        return None, -1
    start = end
    while start >= 0 and "<!--" not in lines[start]:
        start -= 1
    if start < 0:
        return None, -1
    comment = "\n".join(lines[start:end + 1])
    marker = MARKER.search(comment)
    if marker is None and "docs-test" in comment:
        raise ValueError(f"line {start + 1}: unknown docs-test marker {comment.strip()[:80]!r}; "
                         "use <!-- docs-test: skip (why) --> or <!-- docs-test: setup ... -->")
    return marker, start


def _shell_commands(code: str, console: bool) -> tuple[list[str], list[str]]:
    """(lines that run, lines that do not) of a shell block, backslash continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in code.splitlines():
        if console:
            if not pending:
                if not raw.lstrip().startswith("$ "):
                    continue  # output
                raw = raw.lstrip()[2:]
        text = pending + raw
        if text.rstrip().endswith("\\"):
            pending = text.rstrip()[:-1] + " "
            continue
        pending = ""
        if text.strip() and not text.strip().startswith("#"):
            logical.append(text.strip())
    run = [c for c in logical if c.split()[0] in RUNNABLE]
    return run, [c for c in logical if c not in run]


def blocks(root: Path, path: Path) -> list[Block]:
    """The python and shell blocks of one Markdown file, with their markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = path.relative_to(root).as_posix()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m["indent"], m["fence"], m["lang"].lower()
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence[0] * len(fence))
                                      and not lines[j].strip().strip(fence[0])):
            j += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[i + 1:j]]
        code = "\n".join(body) + "\n"
        marker, start = _marker(lines, i)
        skip = setup = None
        setup_line = 0
        if marker and marker["kind"] == "skip":
            reason = marker["body"].strip()
            skip = reason[1:-1].strip() if reason.startswith("(") and reason.endswith(")") else reason
            if not skip:
                raise ValueError(f"{rel}:{i + 1}: a docs-test skip marker needs a reason: "
                                 "<!-- docs-test: skip (why) -->")
        elif marker and marker["kind"] == "setup":
            # The code starts on the line after "<!-- docs-test: setup" and ends before "-->".
            setup = textwrap.dedent(marker["body"].split("\n", 1)[1] if "\n" in marker["body"] else "")
            setup_line = start + 2
        if lang in PYTHON:
            found.append(Block(rel, i + 1, "python", code, skip, setup, setup_line))
        elif lang in SHELL:
            run, not_run = _shell_commands(code, console=lang == "console")
            if skip or any(c.split()[0] == "worldflux" for c in run):
                found.append(Block(rel, i + 1, "shell", "\n".join(run), skip, setup, setup_line, tuple(not_run)))
        i = j + 1
    return found


# --- the runner (a fresh interpreter per file) ---------------------------------------------------------


def _write(results: dict[str, dict[str, str]], out: Path) -> None:
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results), encoding="utf-8")
    os.replace(tmp, out)


def _exec(source: str, first_line: int, filename: str, namespace: dict) -> None:
    # Leading newlines make tracebacks and syntax errors give the Markdown file's own line numbers.
    exec(compile("\n" * (first_line - 1) + source, filename, "exec"), namespace)


def run(spec: Path, out: Path) -> int:
    """Run the blocks listed in ``spec`` (JSON: root, blocks) in order; record each outcome in ``out``."""
    data = json.loads(spec.read_text(encoding="utf-8"))
    root = Path(data["root"])
    os.environ["DOCS_REPO_ROOT"] = str(root)  # for set-up code that needs a file of the repository
    namespace: dict = {"__name__": "__main__"}
    results: dict[str, dict[str, str]] = {}
    failed = None
    for raw in data["blocks"]:
        block = Block(**{**raw, "not_run": tuple(raw["not_run"])})
        key = str(block.line)
        if block.skip:
            results[key] = {"status": "skipped", "detail": block.skip}
        else:
            filename = str(root / block.path)
            buffer = io.StringIO()
            ok = True
            try:
                with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                    if block.setup:
                        _exec(block.setup, block.setup_line, filename, namespace)
                    if block.kind == "python":
                        _exec(block.code, block.line + 1, filename, namespace)
            except BaseException as exc:  # SystemExit and KeyboardInterrupt of a snippet are failures too
                ok = False
                tb = exc.__traceback__
                while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
                    tb = tb.tb_next  # the runner's own frames
                buffer.write("".join(traceback.format_exception(type(exc), exc, tb)))
            if ok and block.kind == "shell":
                try:  # -x: each command is echoed ("+ worldflux ...") before its output
                    proc = run_group(["bash", "-x", "-e", "-o", "pipefail", "-c", block.code], SHELL_TIMEOUT_S,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                    buffer.write(proc.stdout)
                    if proc.returncode:
                        ok = False
                        buffer.write(f"exit status {proc.returncode}\n")
                except subprocess.TimeoutExpired as exc:
                    ok = False
                    partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
                    buffer.write(f"{partial or ''}timed out after {SHELL_TIMEOUT_S} s\n")
            if not ok and failed is not None:
                buffer.write(f"(the block at line {failed} failed before this one; this one may need its names)\n")
            results[key] = {"status": "passed" if ok else "failed", "detail": buffer.getvalue()}
            if not ok and failed is None:
                failed = block.line
        _write(results, out)
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), Path(sys.argv[2])))
