"""Small sequential work on one thread: forward in a block, backward through hooks, only while threads sleep."""

import pytest
import torch

from worldflux.testing import torch_threads
from worldflux.threads import one_thread, one_thread_backward


def _graph_with_a_block() -> tuple[torch.Tensor, list[int], list[int]]:
    """``x -> [block: h = 2x, mid = 3h] -> loss``; returns the loss and the thread counts seen in and after the block."""
    inside, outside = [], []
    x = torch.ones(3, requires_grad=True)
    with one_thread():
        inside.append(torch.get_num_threads())
        h = x * 2
        mid = h * 3
    one_thread_backward([mid], x)
    out = mid * 4
    h.register_hook(lambda g: inside.append(torch.get_num_threads()))  # in the block's backward
    out.register_hook(lambda g: outside.append(torch.get_num_threads()))  # before the backward enters it
    x.register_hook(lambda g: outside.append(torch.get_num_threads()))  # once it has left (registered after leave)
    loss = out.sum()
    return loss, inside, outside


def test_with_sleeping_threads_the_block_runs_on_one_both_ways(monkeypatch):
    with torch_threads(monkeypatch, 2, "passive"):
        loss, inside, outside = _graph_with_a_block()
        assert torch.get_num_threads() == 2  # restored after the forward block
        loss.backward()
        assert inside == [1, 1] and outside == [2, 2]
        assert torch.get_num_threads() == 2


def test_with_spinning_threads_nothing_changes(monkeypatch):
    with torch_threads(monkeypatch, 2, None):
        loss, inside, outside = _graph_with_a_block()
        loss.backward()
        assert inside == [2, 2] and outside == [2, 2]


def test_the_count_is_restored_when_the_block_raises(monkeypatch):
    with torch_threads(monkeypatch, 2, "PASSIVE"):
        with pytest.raises(RuntimeError), one_thread():
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2


def test_without_gradients_no_hooks_are_left(monkeypatch):
    with torch_threads(monkeypatch, 2, "PASSIVE"):
        x = torch.ones(3)
        with torch.no_grad(), one_thread():
            y = x * 2
        one_thread_backward([y], x)  # nothing to hook: must not raise
        assert not y.requires_grad and torch.get_num_threads() == 2
