"""``python -m minpy``: the demo explains itself and its numbers add up."""
import re

from minpy.__main__ import main

ROW = re.compile(r"^(numpy|eager|lazy|jit)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s*(.*)$")


def test_demo_rows_notes_and_takeaway(capsys):
    assert main(["--iters", "12"]) == 0
    out = capsys.readouterr().out
    rows = {m.group(1): m for m in map(ROW.match, out.splitlines()) if m}
    assert list(rows) == ["numpy", "eager", "lazy", "jit"]
    for mode in ("numpy", "eager", "lazy", "jit"):        # each mode is explained
        assert re.search(rf"^  {mode}\s+\S", out, flags=re.M)
    acc = {k: float(m.group(2)) for k, m in rows.items()}
    assert all(abs(a - acc["numpy"]) <= 0.05 for a in acc.values()), acc
    assert rows["numpy"].group(5) == "1.00"
    ratio = float(rows["eager"].group(5))
    compiled, cached = map(int, re.search(r"(\d+) graph\(s\) compiled, (\d+) run\(s\) from the "
                                          r"cache", rows["lazy"].group(6)).groups())
    assert compiled >= 1 and compiled + cached >= 12
    traces, replays = map(int, re.search(r"(\d+) trace\(s\), (\d+) replay\(s\)",
                                         rows["jit"].group(6)).groups())
    assert traces >= 1 and traces + replays >= 12
    takeaway = out[out.index("Takeaway:"):].replace("\n", " ")
    said = float(re.search(r"eager MinPy took ([\d.]+)x NumPy's time", takeaway).group(1))
    assert abs(said - ratio) <= 0.051          # the takeaway quotes the table
    assert "running..." not in out                    # progress only on a terminal
