"""Measured side (c): the fan-out chain harvested by a hand-written asyncio script, as fast as
one can write it.

The same calls as bench/sequential_harvester.py (course ids from core_course_search_courses,
core_course_get_courses for every id with a per-course fallback when Moodle refuses the
batch, enrolled users once per course unpaged, then one call per course x user for the
completion status and per quiz x enrolled user for the attempts), but with one
``httpx.AsyncClient`` and at most ``--concurrency`` calls in flight (an ``asyncio.Semaphore``),
and no stage waiting for another stage to finish: a course's completion calls start as soon
as its enrolled users are in, the quizzes are asked for beside the enrolments, and a quiz's
attempt calls start once both its quiz and its course's users are known. Rows are kept in
lists and written at the end in ONE DuckDB transaction (NDJSON files read by ``read_json``).

    python bench/async_harvester.py URL DB_PATH [--concurrency 8]

Prints one ``RESULT {json}`` line like bench/project_side.py; run it under
bench/user_side.py to measure it from process start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import duckdb  # noqa: E402
import httpx  # noqa: E402

from bench.common import Stopwatch, emit, peak_rss_mb, rss_mb  # noqa: E402
from bench.sequential_harvester import TOKEN, flatten  # noqa: E402


class Moodle:
    def __init__(self, url: str, token: str, concurrency: int) -> None:
        self.http = httpx.AsyncClient(
            timeout=60, limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        )
        self.url = url.rstrip("/") + "/webservice/rest/server.php"
        self.token = token
        self.slots = asyncio.Semaphore(concurrency)
        self.calls = 0

    async def call(self, function: str, **params):
        data = {"wstoken": self.token, "wsfunction": function, "moodlewsrestformat": "json"}
        data.update(flatten(params))
        async with self.slots:
            self.calls += 1
            response = await self.http.post(self.url, data=data)
        body = response.json()
        if isinstance(body, dict) and "exception" in body:
            raise RuntimeError(f"{function}: {body.get('errorcode')}: {body.get('message')}")
        return body


async def harvest(m: Moodle) -> dict[str, list[dict]]:
    index, page = [], 0
    while True:
        found = await m.call(
            "core_course_search_courses", criterianame="search", criteriavalue="", page=page, perpage=100
        )
        index += found["courses"]
        page += 1
        if not found["courses"] or len(index) >= found["total"]:
            break
    ids = [c["id"] for c in index]
    try:
        courses = await m.call("core_course_get_courses", options={"ids": ids})
    except RuntimeError:

        async def one(cid: int) -> list[dict]:
            try:
                return await m.call("core_course_get_courses", options={"ids": [cid]})
            except RuntimeError as error:
                print("skip course", cid, error, file=sys.stderr)
                return []

        courses = [c for found in await asyncio.gather(*(one(cid) for cid in ids)) for c in found]

    enrolled: list[dict] = []
    completion: list[dict] = []
    attempts: list[dict] = []
    users_of: dict[int, asyncio.Future] = {c["id"]: asyncio.get_running_loop().create_future() for c in courses}

    async def completion_of(courseid: int, userid: int) -> None:
        answer = await m.call("core_completion_get_activities_completion_status", courseid=courseid, userid=userid)
        for status in answer["statuses"]:
            status["courseid"], status["userid"] = courseid, userid
            completion.append(status)

    async def course(courseid: int) -> None:
        users = await m.call("core_enrol_get_enrolled_users", courseid=courseid)
        for user in users:
            user["courseid"] = courseid
        enrolled.extend(users)
        users_of[courseid].set_result([u["id"] for u in users])
        await asyncio.gather(*(completion_of(courseid, u["id"]) for u in users))

    async def attempts_of(quizid: int, userid: int) -> None:
        answer = await m.call(
            "mod_quiz_get_user_attempts", quizid=quizid, userid=userid, status="all", includepreviews=0
        )
        attempts.extend(answer["attempts"])

    async def quiz_side() -> list[dict]:
        quizzes = (await m.call("mod_quiz_get_quizzes_by_courses", courseids=[c["id"] for c in courses]))["quizzes"]

        async def quiz(q: dict) -> None:
            users = await users_of[q["course"]] if q["course"] in users_of else []
            await asyncio.gather(*(attempts_of(q["id"], u) for u in users))

        await asyncio.gather(*(quiz(q) for q in quizzes))
        return quizzes

    quizzes, *_ = await asyncio.gather(quiz_side(), *(course(c["id"]) for c in courses))
    return {
        "course_index": index,
        "courses": courses,
        "enrolled_users": enrolled,
        "activity_completion": completion,
        "quizzes": quizzes,
        "quiz_attempts": attempts,
    }


def save(db: str, tables: dict[str, list[dict]]) -> None:
    """Every table in one transaction, each from an NDJSON file."""
    folder = tempfile.mkdtemp(prefix="async-harvest-")
    try:
        con = duckdb.connect(db)
        con.execute("BEGIN")
        for name, rows in tables.items():
            if not rows:
                continue
            path = os.path.join(folder, f"{name}.ndjson")
            with open(path, "w", encoding="utf-8") as out:
                for row in rows:
                    out.write(json.dumps(row))
                    out.write("\n")
            con.execute(
                f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_json(?, format='newline_delimited', "
                "maximum_object_size=67108864, sample_size=-1)",
                [path],
            )
        con.execute("COMMIT")
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def run(url: str, concurrency: int) -> tuple[dict[str, list[dict]], int]:
    m = Moodle(url, TOKEN, concurrency)
    async with m.http:
        tables = await harvest(m)
    return tables, m.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("db")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rss_before = rss_mb()
    with Stopwatch() as watch:
        started = time.perf_counter()
        tables, calls = asyncio.run(run(args.url, args.concurrency))
        fetched = time.perf_counter() - started
        save(args.db, tables)
    emit(
        {
            "side": f"async{args.concurrency}",
            "success": True,
            "wall": watch.wall,
            "cpu": watch.cpu,
            "peak_rss_mb": peak_rss_mb(),
            "rss_before_mb": rss_before,
            "rows": {name: len(rows) for name, rows in tables.items()},
            "client_calls": calls,
            "fetch_seconds": fetched,
            "load_seconds": watch.wall - fetched,
        }
    )


if __name__ == "__main__":
    main()
