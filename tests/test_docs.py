"""The documentation: the site builds with ``mkdocs build --strict``, and the examples of README.md and
docs/**/*.md run as written.

Each python or shell block is one test, named ``FILE:LINE`` (the line of its opening fence). A file's
blocks run once, in order, in one fresh interpreter whose working directory is a temporary directory
(see ``docs_examples.py`` for what runs and for the markers). A block that cannot run in CI carries
``<!-- docs-test: skip (why) -->`` right before its fence; a failing block fails with its line, output
and traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from dataclasses import asdict
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))  # docs_examples.py

from docs_examples import Block, blocks, run_group  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = ["worldflux-core", "worldflux-dreamer", "worldflux-tdmpc2", "worldflux-backends", "examples/worldflux-pets"]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),  # and each distribution's package-index page
         *(ROOT / d / "README.md" for d in DISTRIBUTIONS)]
FILE_TIMEOUT_S = 600  # a safety net: the files' examples take seconds each
# Packages whose __all__ the API reference must cover, and the other types a plugin implements or receives.
PUBLIC_PACKAGES = ("worldflux", "worldflux.training", "worldflux.runs", "worldflux.testing", "worldflux.parity")
PLUGIN_TYPES = [
    "worldflux.protocol.WorldModel", "worldflux.model.WorldModelBase",
    *(f"worldflux.types.{name}" for name in ("LatentState", "Batch", "Prediction", "Trajectory", "LossOutput")),
    *(f"worldflux.config.{name}" for name in ("worldflux_config", "config_field", "positive", "non_negative",
                                               "unit_interval", "ordered", "one_of")),
    "worldflux.hookspecs.worldflux_register_families", "worldflux.hookspecs.worldflux_register_backends",
    *(f"worldflux.registrar.FamilyRegistrar.{name}" for name in ("add_family", "add_preset", "add_alias",
                                                                 "add_official")),
    "worldflux.registrar.BackendRegistrar.add_backend",
    *(f"worldflux.records.{name}" for name in ("Preset", "Family", "Backend", "Official", "Provider")),
    "worldflux.official.convert_checkpoint", "worldflux.official.export_checkpoint",
    "worldflux_dreamer.config.DreamerV3Config", "worldflux_dreamer.model.DreamerV3",
    "worldflux_dreamer.agent.DreamerAgent",
    "worldflux_tdmpc2.config.TDMPC2Config", "worldflux_tdmpc2.model.TDMPC2", "worldflux_tdmpc2.agent.TDMPC2Agent",
    "worldflux_backends.official.OfficialCode", "worldflux_backends.ray_cluster.RayJob",
]


_PROBLEMS: list[str] = []  # pages whose markers do not parse (test_markers_are_well_formed reports them)


def _blocks() -> list[Block]:
    found = []
    for page in PAGES:
        try:
            found += blocks(ROOT, page)
        except ValueError as exc:
            _PROBLEMS.append(f"{page.relative_to(ROOT)}: {exc}")
    return found


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the venv's `worldflux`
    env["WORLDFLUX_HOME"] = str(tmp / "worldflux-home")  # background jobs register here, not in ~/.worldflux
    env["MPLBACKEND"] = "Agg"
    env.pop("PYTHONPATH", None)
    return env


_RESULTS: dict[str, dict[str, dict[str, str]]] = {}


def _run_file(path: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Run every block of ``path`` once (in order, one namespace) and cache each block's outcome."""
    if path not in _RESULTS:
        work = tmp_path_factory.mktemp(Path(path).stem)
        spec, out = work / "blocks.json", work / "results.json"
        page_blocks = blocks(ROOT, ROOT / path)
        spec.write_text(json.dumps({"root": str(ROOT), "blocks": [asdict(b) for b in page_blocks]}))
        cwd = work / "cwd"
        cwd.mkdir()
        try:
            proc = run_group([sys.executable, str(Path(__file__).with_name("docs_examples.py")), str(spec), str(out)],
                             FILE_TIMEOUT_S, cwd=cwd, env=_env(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            tail = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as exc:
            partial = [x.decode(errors="replace") if isinstance(x, bytes) else x or ""
                       for x in (exc.stdout, exc.stderr)]
            tail = f"timed out after {FILE_TIMEOUT_S} s\n{''.join(partial)}"
        results = json.loads(out.read_text()) if out.exists() else {}
        for block in page_blocks:
            if str(block.line) not in results:
                results[str(block.line)] = {"status": "failed", "detail": f"the runner stopped:\n{tail[-4000:]}"}
        _RESULTS[path] = results
    return _RESULTS[path]


@pytest.mark.parametrize("block", _blocks(), ids=lambda b: f"{b.path}:{b.line}")
def test_doc_example(block: Block, tmp_path_factory: pytest.TempPathFactory) -> None:
    outcome = _run_file(block.path, tmp_path_factory)[str(block.line)]
    if outcome["status"] == "skipped":
        pytest.skip(f"{block.path}:{block.line}: {outcome['detail']}")
    if outcome["status"] == "failed":
        pytest.fail(f"the {block.kind} block at {block.path}:{block.line} failed:\n{outcome['detail']}",
                    pytrace=False)


def test_markers_are_well_formed() -> None:
    """Every docs-test marker is one of the two kinds, and every skip marker gives its reason."""
    _PROBLEMS.clear()
    assert _blocks(), "no code blocks found in README.md and docs/"
    assert not _PROBLEMS, "\n".join(_PROBLEMS)


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """The site builds with every page in the nav, no broken link or anchor, and an API reference that
    mkdocstrings renders without a warning and that documents every public name."""
    env = _env(tmp_path)
    env["NO_MKDOCS_2_WARNING"] = "1"  # Material's notice about MkDocs 2.0, printed on every build
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}{proc.stderr}"
    documented = _inventory(tmp_path / "site" / "objects.inv")
    missing = sorted(name for name in _public_api() if name not in documented)
    assert not missing, f"not in the API reference (docs/api/*.md): {missing}"


def _inventory(path: Path) -> set[str]:
    """The object names of a Sphinx inventory (objects.inv: four header lines, then zlib-compressed rows)."""
    header_and_body = path.read_bytes().split(b"\n", 4)
    return {row.split(" ", 1)[0] for row in zlib.decompress(header_and_body[4]).decode().splitlines()}


def _public_api() -> list[str]:
    """What users and plugin authors touch: the packages' exports and the types plugins implement or receive."""
    import importlib

    import worldflux.errors

    names = [f"{package}.{name}" for package in PUBLIC_PACKAGES
             for name in importlib.import_module(package).__all__]
    names += [f"worldflux.errors.{name}" for name, obj in vars(worldflux.errors).items()
              if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == "worldflux.errors"]
    return names + PLUGIN_TYPES
