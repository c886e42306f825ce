from moodle_assets.demo.phpform import decode_php_form


def test_nested_arrays_and_lists() -> None:
    fields = [
        ("courseids[0]", "2"),
        ("courseids[1]", "3"),
        ("criteria[0][key]", "email"),
        ("criteria[0][value]", "%"),
        ("options[0][name]", "limitfrom"),
        ("options[0][value]", "100"),
        ("events[courseids][0]", "2"),
        ("options2[timestart]", "5"),
        ("options2[ids][0]", "7"),
        ("plain", "x"),
    ]
    assert decode_php_form(fields) == {
        "courseids": ["2", "3"],
        "criteria": [{"key": "email", "value": "%"}],
        "options": [{"name": "limitfrom", "value": "100"}],
        "events": {"courseids": ["2"]},
        "options2": {"timestart": "5", "ids": ["7"]},
        "plain": "x",
    }


def test_integer_keys_are_ordered_and_appends_work() -> None:
    assert decode_php_form([("ids[10]", "b"), ("ids[2]", "a")]) == {"ids": ["a", "b"]}
    assert decode_php_form([("ids[]", "a"), ("ids[]", "b")]) == {"ids": ["a", "b"]}


def test_later_duplicates_win_like_php() -> None:
    assert decode_php_form([("courseid", "1"), ("courseid", "2")]) == {"courseid": "2"}
