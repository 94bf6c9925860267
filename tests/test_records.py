import json

import pytest

from bench.records import SCHEMA_VERSION, Record, RecordError, comparable, from_dict, summarize


def make(**kw):
    base = dict(name="memory.stream.triad", value=10.0, unit="GB/s", samples=(9.0, 10.0, 9.5),
                validation={"passed": True}, machine={"cpu_model": "X"}, params={"n": 1})
    base.update(kw)
    return Record(**base)


def test_round_trip_through_json():
    r = make()
    back = from_dict(json.loads(json.dumps(r.to_dict())))
    assert back == r
    assert back.stats["median"] == 9.5 and back.schema_version == SCHEMA_VERSION


def test_statistics_by_hand():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s == {"min": 1.0, "median": 2.5, "max": 4.0, "mean": 2.5,
                 "stdev": pytest.approx(1.2909944487), "count": 4.0}


@pytest.mark.parametrize(("change", "message"), [
    ({"name": "Triad"}, "is not '<area>.<kernel>.<variant>'"),
    ({"unit": "GiB/s"}, "unit 'GiB/s'"),
    ({"direction": "up"}, "direction"),
    ({"status": "great"}, "status 'great'"),
    ({"value": float("nan")}, "finite value"),
    ({"validation": {"passed": False}}, "without a passed validation"),
    ({"status": "failed", "validation": {"passed": False}}, "must not carry a value"),
    ({"ranks": 0}, "at least 1"),
])
def test_invalid_records_are_refused(change, message):
    with pytest.raises(RecordError, match=message):
        make(**change)


def test_failed_record_has_no_value():
    r = make(status="failed", value=None, samples=(), validation={"passed": False, "details": "x"})
    assert not r.ok and r.value is None


def test_newer_schema_is_refused_with_reason():
    d = make().to_dict()
    d["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(RecordError, match="newer than this hpcplan"):
        from_dict(d)
    d = make().to_dict()
    d["surprise"] = 1
    with pytest.raises(RecordError, match="unknown fields: surprise"):
        from_dict(d)


def test_comparable_says_why():
    a = make()
    assert comparable(a, make(value=12.0)) == (True, "")
    ok, why = comparable(a, make(machine={"cpu_model": "Y"}))
    assert not ok and "machine.cpu_model differs" in why
    ok, why = comparable(a, make(params={"n": 2}))
    assert not ok and "params differs" in why


def test_records_are_immutable():
    r = make()
    with pytest.raises(AttributeError):
        r.value = 3.0  # type: ignore[misc]
    assert r.replace(job={"job_id": "7"}).job == {"job_id": "7"}
