"""Macros resolve under a frozen clock."""

from datetime import UTC, datetime

import pytest

from moodle_assets.endpoints.macros import MacroContext, MacroError, render

NOW = datetime(2026, 3, 31, 12, 30, 0, tzinfo=UTC)


def test_now_offsets_in_days_as_unix_seconds():
    ctx = MacroContext(now=NOW)
    assert render("{now}", ctx) == 1774960200
    assert render("{now-30}", ctx) == 1774960200 - 30 * 86400
    assert render("{now+1}", ctx) == 1774960200 + 86400


def test_units_and_formats():
    assert (
        render("{now-2}", MacroContext(now=NOW, time_unit="hour", date_format="%Y-%m-%dT%H:%M")) == "2026-03-31T10:30"
    )
    # Months move on the calendar and clamp the day: 31 March - 1 month = 28 February.
    assert render("{now-1}", MacroContext(now=NOW, time_unit="month", date_format="%Y-%m-%d")) == "2026-02-28"
    assert render("{now+1}", MacroContext(now=NOW, time_unit="week", date_format="%Y-%m-%d")) == "2026-04-07"


def test_macros_inside_text_and_nested_params():
    ctx = MacroContext(now=NOW, date_format="%Y-%m-%d")
    params = {"options": [{"name": "since", "value": "{now-7}"}], "label": "from {now-1} to {now}"}
    assert render(params, ctx) == {
        "options": [{"name": "since", "value": "2026-03-24"}],
        "label": "from 2026-03-30 to 2026-03-31",
    }


def test_partition_window_and_lookups():
    window = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    ctx = MacroContext(now=NOW, window=window, row={"courses.id": 7, "courses.ids": [1, 2]})
    assert render({"a": "{partition_start}", "b": "{partition_end}"}, ctx) == {"a": 1772323200, "b": 1772409600}
    assert render("{courses.id}", ctx) == 7
    assert render("{courses.ids}", ctx) == [1, 2]


def test_partition_macro_outside_a_partition_is_a_clear_error():
    with pytest.raises(MacroError, match="only available when a partition is materialised"):
        render("{partition_start}", MacroContext(now=NOW))
