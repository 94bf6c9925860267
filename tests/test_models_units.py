"""Units and months: every conversion the model makes, and the refusals."""

import datetime as dt

import pytest

from models import timeaxis
from models.units import PIB_IN_PB, UnitError, convert, parse_quantity, pb_to_pib, pib_to_pb


@pytest.mark.parametrize(("text", "pb"), [
    ("12.4 PB", 12.4),
    ("1000 TB", 1.0),
    ("1 EB", 1000.0),
    ("1 PiB", 2**50 / 1e15),
    ("1 TiB", 2**40 / 1e15),
    ("100 PiB", 112.5899906842624),
    ("2.5e3 TB", 2.5),
    ("500GB", 5e-4),
])
def test_storage_units(text, pb):
    assert parse_quantity(text, "storage").value == pytest.approx(pb, rel=1e-15)
    assert parse_quantity(text, "storage").unit == "PB"


def test_pib_pb_round_trip():
    assert PIB_IN_PB == 1.125899906842624
    assert pib_to_pb(1.0) == PIB_IN_PB
    assert pb_to_pib(pib_to_pb(100.0)) == pytest.approx(100.0, rel=1e-15)
    assert convert(PIB_IN_PB, "storage", "PiB") == pytest.approx(1.0, rel=1e-15)
    assert convert(1.0, "storage", "TB") == 1000.0


@pytest.mark.parametrize("bad", ["100 P", "100 pb", "100", "PB", "1e400 PB", "12,4 PB", "100 PF",
                                 "-", ""])
def test_storage_refusals(bad):
    with pytest.raises(UnitError):
        parse_quantity(bad, "storage")


@pytest.mark.parametrize("bad", [100, 1.5, True, None, ["1 PB"], {"value": "1 PB"}])
def test_non_strings_need_a_unit(bad):
    with pytest.raises(UnitError, match="needs a number with a unit"):
        parse_quantity(bad, "storage")


def test_unit_error_names_the_accepted_units():
    with pytest.raises(UnitError, match=r"unit 'P' in '100 P' is not one of PB, GB, TB"):
        parse_quantity("100 P", "storage")


@pytest.mark.parametrize(("text", "tf"), [
    ("2.4576 TF", 2.4576), ("1 PF", 1000.0), ("1.2 EF", 1.2e6), ("500 GF", 0.5),
    ("67 TFLOP/s", 67.0), ("1 PFLOP/s", 1000.0),
])
def test_compute_units(text, tf):
    assert parse_quantity(text, "compute").value == pytest.approx(tf, rel=1e-15)


@pytest.mark.parametrize(("text", "watts"), [("240 W", 240.0), ("1.5 kW", 1500.0),
                                             ("18 MW", 18e6)])
def test_power_units(text, watts):
    assert parse_quantity(text, "power").value == watts


def test_money_keeps_its_currency():
    q = parse_quantity("400 MCNY", "money")
    assert (q.value, q.unit) == (400e6, "CNY")
    assert parse_quantity("250 kUSD", "money").unit == "USD"


def test_months():
    assert timeaxis.parse_month("2026-01") == 2026 * 12
    assert timeaxis.parse_month(dt.date(2026, 3, 17)) == 2026 * 12 + 2
    assert timeaxis.fmt(timeaxis.parse_month("2030-12")) == "2030-12"
    assert timeaxis.parse_month("2027-01") - timeaxis.parse_month("2026-01") == 12
    assert timeaxis.decimal_year(timeaxis.parse_month("2024-06")) == pytest.approx(2024.4583333)


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-01", "2026/01", "soon", 2026, None])
def test_bad_months(bad):
    with pytest.raises(timeaxis.MonthError):
        timeaxis.parse_month(bad)
