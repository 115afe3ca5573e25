"""minpy._pytree: the one flattener of parameter trees (grad, distributed)."""
import collections

from minpy import _pytree

Pair = collections.namedtuple("Pair", "W b")


def test_round_trip_keeps_types_and_key_order():
    tree = {"z": 1, "a": [2, (3, Pair(4, 5))], "m": collections.OrderedDict(y=6, x=7)}
    leaves, paths, struct = _pytree.flatten(tree)
    assert leaves == [1, 2, 3, 4, 5, 6, 7]
    assert paths[3] == ("a", 1, 1, 0) and paths[0] == ("z",)
    back = _pytree.unflatten(struct, leaves)
    assert back == tree and list(back) == ["z", "a", "m"]
    assert type(back["a"][1][1]) is Pair and type(back["m"]) is collections.OrderedDict
    assert _pytree.count(struct) == 7


def test_sorted_keys_give_an_order_independent_of_construction():
    a = _pytree.flatten({"b": 1, "a": 2}, sort_keys=True)
    b = _pytree.flatten({"a": 2, "b": 1}, sort_keys=True)
    assert a[0] == b[0] == [2, 1] and a[1] == [("a",), ("b",)]
    assert list(_pytree.unflatten(a[2], a[0])) == ["b", "a"]       # the tree's own order
    assert _pytree.flatten({1: "x", "a": "y"}, sort_keys=True)[0] == ["x", "y"]   # unsortable


def test_is_leaf_and_build_from_a_shared_iterator():
    leaves, _, s1 = _pytree.flatten([[1.0, 2.0], {"w": 3}], is_leaf=lambda x: x == [1.0, 2.0])
    assert leaves == [[1.0, 2.0], 3]
    it = iter(["p", "q", "r"])
    assert _pytree.build(s1, it) == ["p", {"w": "q"}] and next(it) == "r"
