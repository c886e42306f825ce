"""Measured side (b): the fan-out chain harvested the way a typical Moodle script does it.

One ``httpx.Client``, one call after another, parameters as a first reading of the Moodle
API docs suggests, rows kept in lists and written with duckdb at the end:

* course ids from core_course_search_courses (page/perpage, with the ``total`` it returns);
* core_course_get_courses with every id in one call; it fails whole on a course the token
  cannot view, so the script falls back to one call per course and skips the failures;
* core_enrol_get_enrolled_users once per course, without paging options (all users);
* core_completion_get_activities_completion_status per course x enrolled user;
* mod_quiz_get_quizzes_by_courses with every course id in one call;
* mod_quiz_get_user_attempts per quiz x enrolled user of its course, status=all.

    python bench/sequential_harvester.py URL DB_PATH

Prints one ``RESULT {json}`` line like bench/project_side.py.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import duckdb  # noqa: E402
import httpx  # noqa: E402
import pandas as pd  # noqa: E402

from bench.common import Stopwatch, emit, peak_rss_mb, rss_mb  # noqa: E402

TOKEN = "demo-token-admin-0123456789abcdef"  # the demo site's admin token


class Moodle:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(timeout=60)
        self.url = url.rstrip("/") + "/webservice/rest/server.php"
        self.token = token
        self.calls = 0

    def call(self, function: str, **params):
        data = {"wstoken": self.token, "wsfunction": function, "moodlewsrestformat": "json"}
        data.update(flatten(params))
        self.calls += 1
        body = self.http.post(self.url, data=data).json()
        if isinstance(body, dict) and "exception" in body:
            raise RuntimeError(f"{function}: {body.get('errorcode')}: {body.get('message')}")
        return body


def flatten(params, prefix=""):
    """PHP-style form fields: courseids[0]=3, options[ids][0]=4."""
    out = {}
    items = params.items() if isinstance(params, dict) else enumerate(params)
    for key, value in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, (dict, list)):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def save(con, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    # Nested values as JSON text, so DuckDB gets plain columns.
    flat = [{k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()} for row in rows]
    frame = pd.DataFrame(flat)  # noqa: F841 (read by name by DuckDB's replacement scan)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame")


def harvest(m: Moodle, con) -> dict[str, int]:
    # Courses: search with an empty value lists every course but the site front page.
    index, page = [], 0
    while True:
        found = m.call("core_course_search_courses", criterianame="search", criteriavalue="", page=page, perpage=100)
        index += found["courses"]
        page += 1
        if not found["courses"] or len(index) >= found["total"]:
            break
    save(con, "course_index", index)
    ids = [c["id"] for c in index]
    try:
        courses = m.call("core_course_get_courses", options={"ids": ids})
    except RuntimeError:
        courses = []
        for cid in ids:
            try:
                courses += m.call("core_course_get_courses", options={"ids": [cid]})
            except RuntimeError as error:
                print("skip course", cid, error, file=sys.stderr)
    save(con, "courses", courses)

    enrolled = []
    for course in courses:
        for user in m.call("core_enrol_get_enrolled_users", courseid=course["id"]):
            user["courseid"] = course["id"]
            enrolled.append(user)
    save(con, "enrolled_users", enrolled)

    completion = []
    for user in enrolled:
        answer = m.call(
            "core_completion_get_activities_completion_status", courseid=user["courseid"], userid=user["id"]
        )
        for status in answer["statuses"]:
            status["courseid"], status["userid"] = user["courseid"], user["id"]
            completion.append(status)
    save(con, "activity_completion", completion)

    quizzes = m.call("mod_quiz_get_quizzes_by_courses", courseids=[c["id"] for c in courses])["quizzes"]
    save(con, "quizzes", quizzes)

    attempts = []
    by_course: dict[int, list[int]] = {}
    for user in enrolled:
        by_course.setdefault(user["courseid"], []).append(user["id"])
    for quiz in quizzes:
        for userid in by_course.get(quiz["course"], []):
            answer = m.call(
                "mod_quiz_get_user_attempts", quizid=quiz["id"], userid=userid, status="all", includepreviews=0
            )
            attempts += answer["attempts"]
    save(con, "quiz_attempts", attempts)
    return {
        "course_index": len(index),
        "courses": len(courses),
        "enrolled_users": len(enrolled),
        "activity_completion": len(completion),
        "quizzes": len(quizzes),
        "quiz_attempts": len(attempts),
    }


def main() -> None:
    url, db = sys.argv[1], sys.argv[2]
    rss_before = rss_mb()
    with Stopwatch() as watch:
        m = Moodle(url, TOKEN)
        con = duckdb.connect(db)
        started = time.perf_counter()
        rows = harvest(m, con)
        con.close()
    emit(
        {
            "side": "sequential",
            "success": True,
            "wall": watch.wall,
            "cpu": watch.cpu,
            "peak_rss_mb": peak_rss_mb(),
            "rss_before_mb": rss_before,
            "rows": rows,
            "client_calls": m.calls,
            "seconds": time.perf_counter() - started,
        }
    )


if __name__ == "__main__":
    main()
