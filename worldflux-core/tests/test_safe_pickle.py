"""worldflux.safe_pickle reads plain-data pickles and refuses every other global before it runs."""

from __future__ import annotations

import builtins
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from worldflux.errors import WorldFluxError
from worldflux.safe_pickle import UnsafePickleError, load, loads

OFFICIAL_CKPT = (Path(__file__).resolve().parents[2] / "worldflux-dreamer" / "tests" / "fixtures" / "official"
                 / "cartpole_trained" / "logdir" / "ckpt")


class Payload:
    """Unpickling calls ``func(*args)``: what a hostile checkpoint does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def hostile(marker: Path) -> dict[str, object]:
    return {
        "os.system": Payload(os.system, f"touch {marker}"),
        "builtins.eval": Payload(builtins.eval, f"open({str(marker)!r}, 'w').close()"),
        "builtins.exec": Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        "subprocess.Popen": Payload(subprocess.Popen, ["touch", str(marker)]),
        "builtins.__import__": Payload(builtins.__import__, "os"),
    }


def test_plain_data_round_trips():
    data = {"params": {"enc/cnn0/kernel": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
                       "step": np.array(7, np.int32), "mask": np.array([True, False]),
                       "img": np.zeros((2, 2), np.uint8), "f64": np.float64(1.5), "i32": np.int32(3)},
            "counters": {"updates": 3}, "list": [1, 2.5, "x", None, (1, 2)], "bytes": b"\x00\x01",
            "set": {1, 2}}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        out = loads(pickle.dumps(data, protocol=protocol))
        assert out.keys() == data.keys() and out["list"] == data["list"] and out["set"] == {1, 2}
        for key, value in data["params"].items():
            assert np.asarray(out["params"][key]).dtype == np.asarray(value).dtype
            np.testing.assert_array_equal(out["params"][key], value)


def test_the_payloads_are_live(tmp_path):
    """Control: plain pickle really runs the payload (so the refusals below are meaningful)."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(os.system, f"touch {marker}")))
    assert marker.exists()


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "builtins.exec", "subprocess.Popen",
                                  "builtins.__import__"])
@pytest.mark.parametrize("protocol", [0, 2, pickle.DEFAULT_PROTOCOL])
def test_hostile_globals_are_refused_before_running(tmp_path, name, protocol):
    marker = tmp_path / "ran"
    payload = {"params": {"dyn/dynin0/kernel": np.zeros((2, 2), np.float32), "evil": hostile(marker)[name]}}
    path = tmp_path / "agent.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=protocol))
    with pytest.raises(UnsafePickleError) as info:
        load(path)
    assert isinstance(info.value, WorldFluxError)
    module, attr = name.split(".")
    message = str(info.value)
    assert attr in message and str(path) in message and "refused" in message
    assert not marker.exists()


def test_object_arrays_and_persistent_ids_are_refused():
    with pytest.raises(UnsafePickleError, match="object array"):
        loads(pickle.dumps(np.array([1, "a"], dtype=object)))

    class Pers(pickle.Pickler):
        def persistent_id(self, obj):
            return "x" if isinstance(obj, str) else None

    import io

    buffer = io.BytesIO()
    Pers(buffer).dump(["a"])
    with pytest.raises(UnsafePickleError, match="persistent"):
        loads(buffer.getvalue())


def test_garbage_is_a_clear_error():
    with pytest.raises(WorldFluxError, match="not a readable pickle"):
        loads(b"not a pickle at all")
    with pytest.raises(WorldFluxError, match="not a readable pickle"):
        loads(pickle.dumps({"a": np.zeros(100)})[:50])


@pytest.mark.skipif(not OFFICIAL_CKPT.is_dir(), reason="needs the worldflux-dreamer official fixtures")
def test_reads_a_real_official_agent_pickle():
    """An agent.pkl written by danijar/dreamerv3's elements.Checkpoint (numpy 1.26 pickles, read under numpy 2)."""
    path = next(OFFICIAL_CKPT.glob("*/agent.pkl"))
    data = load(path)
    assert set(data) == {"params", "counters"}
    assert data["counters"]["updates"] > 1000
    params = data["params"]
    assert len(params) == 255 and all(isinstance(v, np.ndarray) for v in params.values())
    assert params["dyn/dyngru/kernel"].shape == (8, 4, 12) and params["dyn/dyngru/kernel"].dtype == np.float32
    assert params["opt/step/value"].dtype == np.int32 and int(params["opt/step/value"]) == data["counters"]["updates"]
    assert np.isfinite(params["val/head/logits/kernel"]).all() and np.abs(params["val/head/logits/kernel"]).max() > 0
