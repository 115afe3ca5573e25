"""Parameter trees: dicts, lists, tuples and named tuples nesting leaves (arrays).

One flattener for the places that take trees of arrays (``grad`` of a dict of
parameters, ``minpy.distributed.allreduce``), so they agree on what a container is.
``flatten`` gives the leaves in a fixed order with their paths and a structure from
which ``unflatten`` rebuilds a tree of the same types, dict keys in their order.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

# a structure: None for a leaf; ("seq", type, named, kids) for a list, tuple or named
# tuple; ("dict", type, keys in the tree's order, keys in leaf order, kids in leaf order)
Struct = Any


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:          # keys of mixed types: the tree's own order
        return list(d)


def flatten(tree: Any, sort_keys: bool = False,
            is_leaf: Optional[Callable[[Any], bool]] = None) -> tuple[list, list, Struct]:
    """``(leaves, paths, struct)`` of ``tree``. A path is the tuple of dict keys and
    sequence positions leading to its leaf. ``sort_keys`` visits dict keys sorted (an
    order independent of how the dict was built: workers may build it differently);
    ``is_leaf`` marks containers that are leaves themselves (a list of numbers)."""
    leaves: list = []
    paths: list = []

    def visit(x, path):
        if is_leaf is not None and is_leaf(x):
            leaves.append(x)
            paths.append(path)
            return None
        if isinstance(x, dict):
            order = _sorted_keys(x) if sort_keys else list(x)
            kids = tuple(visit(x[k], path + (k,)) for k in order)
            return ("dict", type(x), tuple(x), tuple(order), kids)
        if isinstance(x, (list, tuple)):
            named = isinstance(x, tuple) and hasattr(x, "_fields")
            return ("seq", type(x), named, tuple(visit(v, path + (i,)) for i, v in enumerate(x)))
        leaves.append(x)
        paths.append(path)
        return None
    struct = visit(tree, ())
    return leaves, paths, struct


def unflatten(struct: Struct, leaves: Iterable) -> Any:
    """The tree ``struct`` describes, with ``leaves`` (in ``flatten``'s order)."""
    return build(struct, iter(leaves))


def build(struct: Struct, it: Iterator) -> Any:
    """The tree ``struct`` describes, taking its leaves from ``it`` (and no more)."""
    if struct is None:
        return next(it)
    if struct[0] == "dict":
        _, typ, keys, order, kids = struct
        vals = {k: build(s, it) for k, s in zip(order, kids)}
        out = {k: vals[k] for k in keys}            # back in the tree's own order
        return out if typ is dict else typ(out)
    _, typ, named, kids = struct
    vals = [build(s, it) for s in kids]
    return typ(*vals) if named else typ(vals)


def count(struct: Struct) -> int:
    """The number of leaves of a structure."""
    if struct is None:
        return 1
    return sum(count(s) for s in struct[-1])
