"""Call statistics: which backend each function ran on."""
import pytest

import minpy
import minpy.numpy as np
from minpy.dispatch import stats


@pytest.fixture(autouse=True)
def _reset():
    old = minpy.get_global_policy()
    minpy.reset_call_stats()
    yield
    minpy.set_global_policy(old)
    minpy.reset_call_stats()


def test_empty_after_reset():
    np.ones(2)
    assert minpy.call_stats()
    minpy.reset_call_stats()
    assert minpy.call_stats() == {}


def test_shape_of_call_stats():
    x = np.ones((2, 2))
    np.exp(x)
    np.exp(x)
    np.logaddexp(x, x)
    np.median(x)
    st = minpy.call_stats()
    assert isinstance(st, dict)
    for name, d in st.items():
        assert isinstance(name, str)
        assert set(d) == {"mxnet", "numpy"}
        assert all(isinstance(v, int) and v >= 0 for v in d.values())
    assert st["ones"] == {"mxnet": 1, "numpy": 0}
    assert st["exp"] == {"mxnet": 2, "numpy": 0}
    assert st["logaddexp"] == {"mxnet": 0, "numpy": 1}
    assert st["median"] == {"mxnet": 0, "numpy": 1}


def test_call_stats_is_a_snapshot():
    np.ones(2)
    st = minpy.call_stats()
    st["ones"]["mxnet"] = 100
    st["bogus"] = {}
    assert minpy.call_stats() == {"ones": {"mxnet": 1, "numpy": 0}}


def test_operators_and_methods_are_counted():
    x = np.ones(3)
    y = x + x
    y.sum()
    st = minpy.call_stats()
    assert st["add"]["mxnet"] == 1
    assert st["sum"]["mxnet"] == 1


def test_failed_calls_are_not_counted():
    x = np.ones(3)
    minpy.reset_call_stats()
    with pytest.raises(ValueError):
        np.add(x, np.ones(4))
    with pytest.raises(Exception):
        np.linalg.inv(np.ones(3))
    assert "add" not in minpy.call_stats()
    assert "linalg.inv" not in minpy.call_stats()


def test_format_table():
    x = np.ones((2, 2))
    np.exp(x)
    np.logaddexp(x, x)
    np.linalg.det(x)
    table = minpy.format_call_stats()
    lines = table.splitlines()
    assert lines[0].split() == ["function", "mxnet", "numpy"]
    by_name = {ln.split()[0]: ln.split()[1:] for ln in lines[1:]}
    assert by_name["exp"] == ["1", "0"]
    assert by_name["logaddexp"] == ["0", "1"]
    assert by_name["linalg.det"] == ["0", "1"]
    assert by_name["ones"] == ["1", "0"]
    assert len(lines) == 1 + len(minpy.call_stats())


def test_format_empty_and_print(capsys):
    assert minpy.format_call_stats().split() == ["function", "mxnet", "numpy"]
    np.exp(np.ones(1))
    minpy.print_call_stats()
    out = capsys.readouterr().out
    assert "exp" in out and out.endswith("\n")


def test_table_sorted_by_total_calls():
    x = np.ones(2)
    for _ in range(3):
        np.exp(x)
    np.sin(x)
    names = [ln.split()[0] for ln in minpy.format_call_stats().splitlines()[1:]]
    assert names.index("exp") < names.index("sin")


def test_count_direct():
    stats.count("custom", "mxnet")
    stats.count("custom", "numpy")
    stats.count("custom", "numpy")
    assert minpy.call_stats()["custom"] == {"mxnet": 1, "numpy": 2}
