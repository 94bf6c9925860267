"""Property tests: random malformed scenarios always give a ScenarioError naming file and key."""

import copy
import datetime as dt
import tempfile
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.errors import ScenarioError
from models.loader import load_scenario, parse_scenario

SMALL = Path(__file__).parent / "fixtures" / "models" / "small.toml"
BASE = tomllib.loads(SMALL.read_text())
FILE = "fuzz.toml"


def _paths(node: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for k, v in node.items():
        out.append((*prefix, k))
        if isinstance(v, dict):
            out += _paths(v, (*prefix, k))
    return out


def _tables(node: dict, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    for k, v in node.items():
        if isinstance(v, dict):
            out += _tables(v, (*prefix, k))
    return out


PATHS = sorted(_paths(BASE))
TABLES = sorted(_tables(BASE))

junk_num = st.one_of(st.floats(-3, 3), st.integers(-3, 3), st.text(max_size=3))
junk = st.one_of(
    st.integers(-10**9, 10**9), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=12), st.lists(st.integers(), max_size=3), st.dates(),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    st.sampled_from(["100 P", "-5 PB", "2026-13", "1e999 PB", "0 W", "8+", "+2", "2040-01",
                     "2019-01", "1 PF", "12 MW", "triangular", "normal"]),
    st.sampled_from([-1, 0, 1.5, -0.5, 2**63]),
    st.fixed_dictionaries({"dist": st.sampled_from(["uniform", "triangular", "normal", "x"])},
                          optional={"low": junk_num, "high": junk_num, "mode": junk_num,
                                    "mean": junk_num, "sd": junk_num}),
)


def _get(data: dict, path: tuple) -> dict:
    node = data
    for k in path:
        node = node[k]
    return node


def _check(data: dict) -> ScenarioError | None:
    try:
        parse_scenario(data, FILE)
    except ScenarioError as e:
        assert e.file == FILE
        assert str(e).startswith(f"{FILE}: ")
        assert e.key, f"an error without a key path: {e}"
        assert "\n" not in str(e)
        return e
    return None


@settings(max_examples=400, deadline=None, database=None)
@given(path=st.sampled_from(PATHS), value=junk)
def test_replaced_values_fail_cleanly(path, value):
    data = copy.deepcopy(BASE)
    _get(data, path[:-1])[path[-1]] = value
    _check(data)  # loads, or a ScenarioError with file and key: never another exception


@settings(max_examples=200, deadline=None, database=None)
@given(path=st.sampled_from(PATHS))
def test_deleted_keys_fail_cleanly(path):
    data = copy.deepcopy(BASE)
    del _get(data, path[:-1])[path[-1]]
    _check(data)


@settings(max_examples=200, deadline=None, database=None)
@given(table=st.sampled_from(TABLES), name=st.from_regex(r"x_[a-z0-9_]{1,8}", fullmatch=True))
def test_unknown_keys_are_named(table, name):
    data = copy.deepcopy(BASE)
    _get(data, table)[name] = 3
    e = _check(data)
    assert e is not None, f"unknown key {'.'.join((*table, name))} was accepted"
    assert e.key == ".".join((*table, name))


@settings(max_examples=150, deadline=None, database=None)
@given(path=st.sampled_from([p for p in PATHS if p[-1] in ("commissioned", "date", "retired")]),
       year=st.integers(1990, 2060), month=st.integers(-2, 15))
def test_random_dates_fail_cleanly(path, year, month):
    data = copy.deepcopy(BASE)
    value = f"{year}-{month:02d}" if month >= 0 else dt.date(year, 1, 1)
    _get(data, path[:-1])[path[-1]] = value
    _check(data)


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=200),
                      st.builds(lambda a, b: a + b, st.just(SMALL.read_text()[:400]),
                                st.text(max_size=40))))
def test_random_files_fail_cleanly(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_scenario(path)
        except ScenarioError as e:
            assert str(e).startswith(str(path))


@settings(max_examples=80, deadline=None, database=None)
@given(path=st.sampled_from(PATHS), value=junk)
def test_whatever_loads_also_projects(path, value):
    from models.projection import project

    data = copy.deepcopy(BASE)
    _get(data, path[:-1])[path[-1]] = value
    if _check(data) is None:  # a valid variant: the projection must run on it too
        p = project(parse_scenario(data, FILE), samples=30, seed=1)
        assert len(p.months) == len(p.bands["mixed_peak_pf"].p50)
