"""The benchmark report's table and its dependency-free SVG chart."""
import xml.dom.minidom

from benchmarks import report


def _data():
    def b(group, param, median):
        return {"group": group, "name": f"test_x[{param}]", "param": param,
                "stats": {"median": median}}
    return {"benchmarks": [b("g1", "eager", 4e-3), b("g1", "lazy", 1e-3), b("g1", "numpy", 2e-3),
                           b("g2", "jit", 5e-6), b("g2", "eager", 8e-5)]}


def test_table_orders_variants_and_compares_with_eager():
    text = report.table(_data())
    g1 = text[text.index("g1"):text.index("g2")].splitlines()
    assert [line.split()[0] for line in g1[2:5]] == ["lazy", "numpy", "eager"]
    assert g1[2].split()[-1] == "4.00"          # lazy: eager / this


def test_svg_chart_has_a_bar_per_variant_longer_when_slower(tmp_path):
    path = tmp_path / "chart.svg"
    report.svg_chart(_data(), str(path))
    doc = xml.dom.minidom.parse(str(path))
    rects = doc.getElementsByTagName("rect")
    assert len(rects) == 5
    widths = [float(r.getAttribute("width")) for r in rects]
    # groups sorted by name, variants by median: g1 lazy < numpy < eager, then g2 jit < eager
    assert widths[0] < widths[1] < widths[2] and widths[3] < widths[4]
    labels = [t.firstChild.data for t in doc.getElementsByTagName("text")]
    assert "lazy" in labels and "80.0 us (16.00x)" in labels


def test_every_benchmark_group_has_a_readable_title():
    import pathlib
    import re
    root = pathlib.Path(report.__file__).parent
    groups = set()
    for f in root.glob("test_*.py"):
        text = f.read_text()
        groups |= set(re.findall(r'group="([\w-]+)"', text))
        for n in re.findall(r"_chain_test\((\d+)\)", text):
            groups.add(f"perf-chain-{int(n):04d}")
    assert groups and groups <= set(report.TITLES), groups - set(report.TITLES)
    assert report.title("perf-mlp-step").startswith("MLP training step")
    assert report.title("unknown-group") == "unknown-group"


def test_matplotlib_chart_png_and_svg(tmp_path):
    image = __import__("pytest").importorskip("matplotlib.image")
    data = _data()
    data["benchmarks"][0]["group"] = "perf-mlp-step"
    png, svg = tmp_path / "c.png", tmp_path / "c.svg"
    assert report.chart(data, str(png)) and report.chart(data, str(svg))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.imread(str(png))[..., :3].std() > 0.05
    text = svg.read_text()
    # the readable workload title, each variant and the median labels are in the chart
    assert "MLP training step 784-512-512-10, batch 256" in text
    assert "lazy" in text and "80.0 us  (16.00x)" in text
    doc = xml.dom.minidom.parse(str(svg))
    assert doc.documentElement.tagName == "svg"
