"""Quantities and metric lines."""

from decimal import Decimal

import pytest

from jupyter_kf.jobs import parse_metric_line
from jupyter_kf.jobs.quantities import parse_quantity


@pytest.mark.parametrize(
    "text,value",
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5", Decimal("1.5")),
        ("4Gi", Decimal(4 * 2**30)),
        ("128Mi", Decimal(128 * 2**20)),
        ("1k", Decimal(1000)),
        ("1e3", Decimal(1000)),
        (3, Decimal(3)),
    ],
)
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "4GB", "1mi", "Gi", True])
def test_bad_quantities(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


@pytest.mark.parametrize(
    "line,point",
    [
        ("epoch=3 loss=0.41 accuracy=0.88", {"epoch": 3, "loss": 0.41, "accuracy": 0.88}),
        ("step=10, loss=1e-3", {"step": 10, "loss": 0.001}),
        ("  loss=2  ", {"loss": 2}),
        ('@@jupyter-kf-metric {"step": 1, "loss": 0.5, "tag": "x"}', {"step": 1, "loss": 0.5}),
        ("Downloading data (x=1)", None),
        ("setting lr=0.1 for all layers", None),
        ("name=resnet", None),
        ("loss=nan", None),
        ("", None),
        ("@@jupyter-kf-metric not json", None),
    ],
)
def test_metric_lines(line, point):
    assert parse_metric_line(line) == point
