"""Solver: trains the CS231n spiral to high accuracy in eager and lazy modes, one
cached graph per batch in lazy mode; history, lr decay, best params, checkpoints;
and ``python -m minpy`` runs end to end."""
import os
import re
import subprocess
import sys
import warnings

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy.__main__ import spiral
from minpy.nn import io, model_builder as builder
from minpy.nn.solver import Solver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_model():
    return builder.Model(builder.Sequential(builder.Affine(100), builder.ReLU(), builder.Affine(3)),
                         "softmax_loss", (2,))


@pytest.fixture
def data():
    return spiral()


@pytest.mark.parametrize("mode", ["eager", "lazy", "jit"])
def test_spiral_reaches_95_percent(data, mode):
    X, y = data
    onp.random.seed(0)
    np.random.seed(0)
    it = io.NDArrayIter(X, y, batch_size=50, shuffle=True)
    lazy = mode == "lazy"
    s = Solver(make_model(), it, it, num_epochs=40, update_rule="adam",
               optim_config={"learning_rate": 1e-2}, verbose=False, lazy=mode != "eager",
               jit=mode == "jit", train_acc_num_samples=None)
    minpy.jit.reset_stats()
    s.init()
    s.train()
    assert len(s.loss_history) == 40 * 6 and len(s.train_acc_history) == 40
    assert s.check_accuracy(it) >= 0.95, s.train_acc_history[-5:]
    assert s.loss_history[-1] < s.loss_history[0]
    stats = minpy.jit.stats()
    if lazy:
        # one graph per training batch plus one per accuracy batch; compiled a handful of times
        batches = 40 * 6 + 40 * 6 * 2 + 6
        assert stats["cache_misses"] <= 8, stats
        assert batches <= stats["executed_graphs"] <= batches + 8, stats
    elif mode == "jit":
        # every training step after the first trace replays the compiled step
        assert stats["jit_replays"] >= 40 * 6 - 8, stats
    else:
        assert stats["executed_graphs"] == 0


def test_lazy_epoch_is_one_cached_graph_per_batch(data):
    X, y = data
    it = io.NDArrayIter(X, y, batch_size=30, shuffle=True)
    s = Solver(make_model(), it, None, num_epochs=1, update_rule="sgd_momentum",
               optim_config={"learning_rate": 0.1}, verbose=False)
    s.init()
    s.train()                                     # first epoch compiles
    it.reset()
    minpy.jit.reset_stats()
    for batch in it:
        s._step(batch)
    stats = minpy.jit.stats()
    assert stats["executed_graphs"] == 10, stats
    assert stats["cache_misses"] == 0 and stats["cache_hits"] == 10, stats
    assert stats["flushes"] == {"flush": 10}, stats


def test_lr_decay_best_params_and_checkpoints(data, tmp_path):
    X, y = data
    train = io.NDArrayIter(X[::2], y[::2], batch_size=50, shuffle=True)
    val = io.NDArrayIter(X[1::2], y[1::2], batch_size=50)
    s = Solver(make_model(), train, val, num_epochs=3, update_rule="sgd",
               optim_config={"learning_rate": 0.5}, lr_decay=0.5, verbose=True, print_every=2,
               checkpoint=str(tmp_path / "spiral"))
    s.init()
    s.train()
    assert all(c["learning_rate"] == 0.5 * 0.5 ** 3 for c in s.optim_configs.values())
    assert len(s.val_acc_history) == 3 and s.best_val_acc == max(s.val_acc_history)
    assert sorted(os.listdir(tmp_path)) == ["spiral-0001.npz", "spiral-0002.npz", "spiral-0003.npz"]
    for k in s.model.params:
        assert s.model.params[k] is s.best_params[k]
    m2 = make_model().load(tmp_path / "spiral-0003")
    assert set(m2.params) == set(s.model.params)


def test_jit_flag(data):
    X, y = data
    it = io.NDArrayIter(X, y, batch_size=100, shuffle=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error" if callable(getattr(minpy, "jit", None)) else "ignore")
        s = Solver(make_model(), it, None, num_epochs=15, update_rule="adam",
                   optim_config={"learning_rate": 2e-2}, verbose=False, jit=True)
    s.init()
    s.train()
    assert s.lazy
    assert s.check_accuracy(it) > 0.8
    assert s.loss_history[-1] < 0.5 * s.loss_history[0]


@pytest.mark.slow
def test_python_m_minpy_runs():
    r = subprocess.run([sys.executable, "-m", "minpy", "--iters", "150"], capture_output=True,
                       text=True, timeout=240, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert "MinPy" in out and "MXNet" in out
    for mode in ("numpy", "eager", "lazy", "jit"):
        assert f"\n{mode}" in out, out
    rows = dict(re.findall(r"^(numpy|eager|lazy|jit) +([0-9.]+) ", out, flags=re.M))
    assert set(rows) >= {"numpy", "eager", "lazy"}, out
    for mode, acc in rows.items():
        assert float(acc) > 0.9, (mode, out)


def test_plot_draws_loss_and_accuracy_curves(data, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    X, y = data
    it = io.NDArrayIter(X, y, batch_size=50, shuffle=False)
    s = Solver(make_model(), it, it, num_epochs=3, update_rule="adam",
               optim_config={"learning_rate": 1e-2}, verbose=False)
    with pytest.raises(RuntimeError, match="call train"):
        s.plot()
    s.init()
    s.train()
    path = tmp_path / "curves.png"
    fig = s.plot(path)
    loss_ax, acc_ax = fig.axes
    # the curves hold the solver's own history
    onp.testing.assert_allclose(loss_ax.lines[0].get_ydata(), s.loss_history)
    onp.testing.assert_allclose(acc_ax.lines[0].get_ydata(), s.train_acc_history)
    onp.testing.assert_allclose(acc_ax.lines[1].get_ydata(), s.val_acc_history)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(str(path))
    assert pixels.shape[:2] == (400, 1000)
    assert pixels[..., :3].std() > 0.05            # not a blank canvas
    svg = tmp_path / "curves.svg"
    s.plot(svg)
    assert "<svg" in svg.read_text()[:500]
