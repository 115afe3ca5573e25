"""The last flushed graph as networkx / Graphviz DOT (for looking inside)."""
from __future__ import annotations

from typing import Optional

import numpy as _onp


def last_graph_networkx():
    """The most recently flushed graph as a ``networkx.DiGraph`` (None before any flush)."""
    import networkx as nx
    from . import compile as _c
    if _c.last_graph is None:
        return None
    nodes, outs = _c.last_graph
    g = nx.DiGraph()
    for i, (op, attrs, ins) in enumerate(nodes):
        g.add_node(f"n{i}", label=op.name, kind="op")
        for j, d in enumerate(ins):
            if d[0] == "x":
                src = f"x{i}_{j}"
                label = f"input {d[2]} {_onp.dtype(d[3]).name}" if len(d) == 4 else f"input {d[1]}"
                g.add_node(src, label=label, kind="input")
                g.add_edge(src, f"n{i}")
            elif d[0] == "s":
                g.add_node(f"s{i}_{j}", label=f"scalar {d[1].__name__}", kind="scalar")
                g.add_edge(f"s{i}_{j}", f"n{i}")
            else:
                g.add_edge(f"n{d[0]}", f"n{i}")
    for k, (p, idx) in enumerate(outs):
        g.add_node(f"out{k}", label=f"output {k}", kind="output")
        g.add_edge(f"n{p}", f"out{k}")
    return g


def last_graph_dot() -> Optional[str]:
    """DOT text of the last flushed graph."""
    g = last_graph_networkx()
    if g is None:
        return None
    shapes = {"input": "box", "op": "ellipse", "scalar": "diamond", "output": "doublecircle"}
    lines = ["digraph minpy {"]
    for n, data in g.nodes(data=True):
        label = data.get("label", n).replace('"', "'")
        lines.append(f'  {n} [label="{label}", shape={shapes.get(data.get("kind"), "ellipse")}];')
    for a, b in g.edges():
        lines.append(f"  {a} -> {b};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_last_graph(path: str) -> str:
    """Write the last flushed graph as a DOT file; returns the path."""
    text = last_graph_dot()
    if text is None:
        raise RuntimeError("minpy.jit.write_last_graph: nothing has been flushed yet")
    with open(path, "w") as f:
        f.write(text)
    return path
