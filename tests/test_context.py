"""Contexts: cpu()/gpu(), the current context, and the rule for mixing contexts."""
import re
import subprocess
import sys

import numpy as onp
import pytest

import minpy
import minpy.numpy as np
from minpy import context as C


@pytest.fixture(autouse=True)
def _restore_context():
    old = C.current_context()
    yield
    C.set_context(old)


def test_cpu_contexts():
    assert C.cpu() == C.cpu(0)
    assert C.cpu(1) != C.cpu(0)
    assert C.cpu(1) == C.cpu(1)
    assert hash(C.cpu(1)) == hash(C.cpu(1))
    assert repr(C.cpu(1)) == "cpu(1)"
    assert C.cpu(1).device_type == "cpu" and C.cpu(1).device_id == 1
    assert C.current_context() == C.cpu(0)


def test_bad_contexts():
    with pytest.raises(ValueError, match="device id"):
        C.cpu(-1)
    with pytest.raises(ValueError, match="unknown device type"):
        C.Context("tpu", 0)
    with pytest.raises(TypeError, match="set_context"):
        C.set_context("cpu")


@pytest.mark.skipif(C.num_gpus() > 0, reason="a GPU is visible")
def test_gpu_unavailable_raises_clearly():
    with pytest.raises(RuntimeError, match=r"minpy.context.gpu\(0\).*(CUDA|GPU)"):
        C.gpu(0)
    with pytest.raises(RuntimeError, match=r"gpu\(0\)"):
        C.Context("gpu", 0)
    # and the process is still usable
    assert np.ones(2).sum().item() == 2.0


@pytest.mark.skipif(C.has_cuda(), reason="MXNet is a CUDA build here")
def test_gpu_on_a_cpu_build_names_the_package_to_install():
    import importlib.metadata as md
    assert md.version("mxnet") == "1.9.1"
    with pytest.raises(RuntimeError, match=r"CPU-only build.*pip install mxnet-cu112==1\.9\.1"):
        C.gpu(0)
    # every build the message offers is a CUDA build of MXNet 1.9.1 on the index
    assert all(re.fullmatch(r"mxnet-cu1[01]\d", b) for b in C.CUDA_BUILDS)


@pytest.mark.skipif(C.num_gpus() > 0, reason="a GPU is visible")
def test_gpu_request_does_not_crash_process():
    code = ("import minpy.numpy as np, minpy\n"
            "try:\n    minpy.context.gpu(0)\nexcept RuntimeError as e:\n    print('ok', e)\n"
            "print(float(np.ones(3).sum()))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ok minpy.context.gpu(0)" in r.stdout and "3.0" in r.stdout


def test_with_block_places_arrays():
    with C.cpu(1) as ctx:
        assert ctx == C.cpu(1)
        assert C.current_context() == C.cpu(1)
        a = np.ones(2)
        b = np.array([1.0, 2.0])
        c = a + 1
        with C.cpu(2):
            d = np.zeros(2)
        e = np.arange(3)
    assert a.context == b.context == c.context == e.context == C.cpu(1)
    assert d.context == C.cpu(2)
    assert a.asmxnet().ctx.device_id == 1
    assert C.current_context() == C.cpu(0)
    assert np.ones(1).context == C.cpu(0)


def test_with_block_popped_on_exception():
    with pytest.raises(KeyError):
        with C.cpu(3):
            raise KeyError("x")
    assert C.current_context() == C.cpu(0)


def test_set_context():
    C.set_context(C.cpu(1))
    assert C.current_context() == C.cpu(1)
    assert np.zeros(2).context == C.cpu(1)
    with C.cpu(2):
        assert np.zeros(2).context == C.cpu(2)
    assert np.zeros(2).context == C.cpu(1)


def test_mixing_rule_first_array_operand():
    a = np.array([1.0, 2.0])                 # cpu(0)
    with C.cpu(1):
        b = np.array([10.0, 20.0])           # cpu(1)
    r1 = a + b
    r2 = b + a
    r3 = np.maximum(b, a)
    assert r1.context == C.cpu(0)
    assert r2.context == C.cpu(1)
    assert r3.context == C.cpu(1)
    onp.testing.assert_array_equal(r1.asnumpy(), [11, 22])
    onp.testing.assert_array_equal(r2.asnumpy(), [11, 22])
    # operands are untouched
    assert a.context == C.cpu(0) and b.context == C.cpu(1)
    # a NumPy array or scalar first: the first MinPy array still decides
    r4 = onp.array([1.0, 1.0], dtype="float32") + b
    assert isinstance(r4, minpy.Array) and r4.context == C.cpu(1)
    r5 = np.add(onp.ones(2, dtype="float32"), b)
    assert r5.context == C.cpu(1)
    # concatenate of a list follows the first array too
    r6 = np.concatenate([b, a])
    assert r6.context == C.cpu(1)
    onp.testing.assert_array_equal(r6.asnumpy(), [10, 20, 1, 2])


def test_no_minpy_operand_uses_current_context():
    with C.cpu(2):
        r = np.add(onp.ones(2, dtype="float32"), 1.0)
    assert r.context == C.cpu(2)


def test_as_in_context_and_context_property():
    a = np.array([1.0, 2.0])
    assert a.context == a.ctx == C.cpu(0)
    b = a.as_in_context(C.cpu(1))
    assert b.context == C.cpu(1) and a.context == C.cpu(0)
    assert b.asmxnet().ctx.device_id == 1
    onp.testing.assert_array_equal(b.asnumpy(), a.asnumpy())
    assert a.as_in_context(C.cpu(0)) is a
    c = a.copyto(C.cpu(2))
    assert c.context == C.cpu(2)


def test_array_constructor_ctx():
    a = minpy.Array([1.0, 2.0], ctx=C.cpu(1))
    assert a.context == C.cpu(1)


def test_gradient_context_follows_input():
    with C.cpu(1):
        x = np.array([1.0, 2.0])
    g = minpy.grad(lambda v: np.sum(v * v))(x)
    onp.testing.assert_allclose(g.asnumpy(), [2.0, 4.0])
    assert g.context == C.cpu(1)
