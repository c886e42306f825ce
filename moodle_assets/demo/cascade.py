"""What Moodle recomputes after a grade or an activity completion changes.

A grade written into the gradebook (``grade_update()`` from an activity, or a teacher's edit in
the grader report) does not stand alone: Moodle regrades the course total, tells completion
about the new grade, and completion tells the course completion. The day's changes go through
here so that every answer agrees afterwards:

- the course total (``grade_regrade_final_grades()`` → ``grade_category::aggregate_grades()``):
  recomputed from the course's items with the demo's aggregation, the one the generator used
  (dataset/work.py ``add_grades``): "Mean of grades" out of 100 with empty grades counted as 0
  (``aggregateonlygraded`` off); when the total changes its row's ``timemodified`` becomes the
  regrade's time (``$grade->timemodified = time()`` under "Update in db if changed"), as the
  recorded site's course total (``gradedategraded`` one second after the item's grade) shows;
- grade-based completion (``grade_grade::notify_changed()`` →
  ``completion_info::inform_grade_changed()``): an activity completed on "Receive a grade"
  (``completionusegrade``) becomes complete when it gets a grade, at that time;
- course completion (``completion_info::internal_set_data()`` → ``aggregate_completions()`` in
  lib/completionlib.php): when every criterion is complete, the course is marked complete with
  ``mark_complete($timecompleted)``, the *latest* criterion completion time.
"""

from __future__ import annotations

from .dataset import Dataset, Record
from .functions.completion import criteria_modules

COMPLETION_COMPLETE = 1


def grade_row(data: Dataset, item_id: int, user_id: int) -> Record | None:
    return next((g for g in data.grades if g["itemid"] == item_id and g["userid"] == user_id), None)


def grade_item_of(data: Dataset, modname: str, instance_id: int) -> Record:
    return next(i for i in data.grade_items if i["itemmodule"] == modname and i["iteminstance"] == instance_id)


def course_total(data: Dataset, course_id: int, user_id: int) -> float | None:
    """The course total of a user: the mean of the items' grades as fractions of their maximum,
    an item without a grade counting as 0, out of 100; none without any grade."""
    items = [i for i in data.grade_items if i["courseid"] == course_id and i["itemtype"] != "course"]
    shares = []
    for item in items:
        row = grade_row(data, item["id"], user_id)
        if row is not None and row["finalgrade"] is not None:
            shares.append(row["finalgrade"] / item["grademax"])
    if not shares:
        return None
    return round(100 * sum(shares) / len(items), 2)


def set_grade(data: Dataset, item: Record, user_id: int, value: float, when: int, *, overridden: bool = False) -> None:
    """Write a user's grade for an item at ``when``, then regrade the course total and let
    completion know. ``overridden``: a teacher typed it in the gradebook
    (``grade_grade::set_overridden()`` stores the time, and the report says the grade is overridden)."""
    row = grade_row(data, item["id"], user_id)
    if row is None:
        row = {"itemid": item["id"], "userid": user_id}
        data.grades.append(row)
    row["finalgrade"] = value
    row["timemodified"] = when
    if overridden:
        row["overridden"] = when
    _regrade_total(data, item["courseid"], user_id, when)
    module = data.module(item["cmid"]) if item["cmid"] is not None else None
    if module is not None and module["completion"] == 2 and module.get("completionusegrade"):
        complete_activity(data, module, user_id, when)


def _regrade_total(data: Dataset, course_id: int, user_id: int, when: int) -> None:
    total_item = next(i for i in data.grade_items if i["courseid"] == course_id and i["itemtype"] == "course")
    value = course_total(data, course_id, user_id)
    row = grade_row(data, total_item["id"], user_id)
    if row is None:
        row = {"itemid": total_item["id"], "userid": user_id, "finalgrade": None}
        data.grades.append(row)
    if row["finalgrade"] != value:  # "Update in db if changed": an unchanged total keeps its time
        row["finalgrade"] = value
        row["timemodified"] = when


def completion_row(data: Dataset, cmid: int, user_id: int) -> Record | None:
    return next((a for a in data.activity_completion if a["cmid"] == cmid and a["userid"] == user_id), None)


def complete_activity(data: Dataset, module: Record, user_id: int, when: int, overrideby: int | None = None) -> bool:
    """Mark an activity complete for a user at ``when`` (``overrideby``: the teacher who overrode
    it), then aggregate the course completion. False when it already was complete and nothing
    overrides it (``update_state()`` leaves an unchanged state alone)."""
    row = completion_row(data, module["id"], user_id)
    if row is not None and row["state"] == COMPLETION_COMPLETE and overrideby is None:
        return False
    if row is None:
        row = {"cmid": module["id"], "courseid": module["courseid"], "userid": user_id}
        data.activity_completion.append(row)
    row.update({"state": COMPLETION_COMPLETE, "timecompleted": when})
    if overrideby is not None:
        row["overrideby"] = overrideby
    aggregate_course_completion(data, module["courseid"], user_id)
    return True


def aggregate_course_completion(data: Dataset, course_id: int, user_id: int) -> int | None:
    """Mark the course complete when all its criteria are; returns the completion time if this did it."""
    course = data.course(course_id)
    record = next((c for c in data.course_completion if c["courseid"] == course_id and c["userid"] == user_id), None)
    if course is None or not course["has_criteria"] or record is None or record["timecompleted"]:
        return None
    times = []
    for module in criteria_modules(data, course_id):
        row = completion_row(data, module["id"], user_id)
        if row is None or row["state"] < COMPLETION_COMPLETE:
            return None
        times.append(row["timecompleted"])
    if not times:
        return None
    record["timecompleted"] = max(times)
    return record["timecompleted"]
