"""The quiz module's "Update overdue attempts" scheduled task, run over the simulated day.

Moodle 4.5, mod/quiz/classes/task/update_overdue_attempts.php: every minute the task takes the
attempts still ``inprogress`` (or ``overdue``) whose ``timecheckstate`` is at or before
``time() - graceperiodmin`` (quiz setting, 60 seconds by default) and calls
``quiz_attempt::handle_if_time_expired($timenow, false)`` on each. With the time limit passed
(``timeclose`` = the earlier of ``timestart + timelimit`` and the quiz's close date), the quiz's
``overduehandling`` decides (mod/quiz/classes/quiz_attempt.php):

- ``autosubmit``: ``process_finish($timenow, false, $timeclose)``: ``state`` finished,
  ``timefinish`` = the time limit's end (the student was offline), ``timemodified`` = the task's
  run, ``sumgrades`` = the marks of the answers saved so far, ``timecheckstate`` null and
  ``gradednotificationsenttime`` = ``timefinish`` (automatically graded questions need no
  manual grading); then ``recompute_final_grade()`` writes the quiz grade (the best attempt,
  rescaled to the quiz's grade) and the gradebook's, at the run's time;
- ``graceperiod``: ``process_going_overdue()``: ``state`` overdue, ``timemodified`` and
  ``timecheckstate`` = the run; a later run abandons it once the grace period is over;
- ``autoabandon``: ``process_abandon()``: ``state`` abandoned, ``timecheckstate`` null.

The task runs as nobody: no user's access time moves. Only attempts whose ``timecheckstate``
falls inside the day are handled; one that passed long before is left as it is (on the demo
site the task did not run then).
"""

from __future__ import annotations

import random

from .cascade import grade_item_of, set_grade
from .changes import Change
from .dataset import Dataset, Record

GRACE_PERIOD_MIN = 60  # quiz | graceperiodmin: how long after timecheckstate the task picks an attempt up


def close_overdue_attempts(data: Dataset, rng: random.Random, since: int, until: int) -> list[Change]:
    """Run the task over ``(since, until]``: each attempt due in that window is handled by the
    first run after its ``timecheckstate`` plus ``graceperiodmin``."""
    closed = []
    due = [
        a
        for a in data.quiz_attempts
        if a["state"] in ("inprogress", "overdue")
        and a["timecheckstate"] is not None
        and since < a["timecheckstate"] <= until - GRACE_PERIOD_MIN
    ]
    for attempt in sorted(due, key=lambda a: (a["timecheckstate"], a["id"])):
        quiz = data.quiz(attempt["quiz"])
        assert quiz is not None
        run = attempt["timecheckstate"] + GRACE_PERIOD_MIN
        handling = quiz.get("overduehandling", "autosubmit")
        if attempt["state"] == "overdue" or handling == "autoabandon":
            attempt.update(state="abandoned", timemodified=run, timecheckstate=None)
        elif handling == "graceperiod":
            attempt.update(state="overdue", timemodified=run, timecheckstate=run)
        else:
            _submit(data, rng, quiz, attempt, run)
        closed.append(Change(quiz["course"], attempt["userid"], attempt["id"], run, 0, attempt["state"]))
    data._index.clear()
    return closed


def _submit(data: Dataset, rng: random.Random, quiz: Record, attempt: Record, run: int) -> None:
    timeclose = attempt["timestart"] + quiz["timelimit"] if quiz["timelimit"] else quiz["timeclose"]
    if quiz["timeclose"]:
        timeclose = min(timeclose, quiz["timeclose"])
    attempt.update(
        state="finished",
        timefinish=timeclose,
        timemodified=run,
        timecheckstate=None,
        sumgrades=round(rng.randint(0, round(10 * quiz["sumgrades"])) / 10, 1),
        gradednotificationsenttime=timeclose,
    )
    # The quiz's grading method is "highest grade" (grademethod 1): the best finished attempt.
    best = max(
        a["sumgrades"]
        for a in data.quiz_attempts
        if a["quiz"] == quiz["id"] and a["userid"] == attempt["userid"] and a["state"] == "finished"
    )
    grade = round(best * quiz["grade"] / quiz["sumgrades"], 5)
    set_grade(data, grade_item_of(data, "quiz", quiz["id"]), attempt["userid"], grade, run)
