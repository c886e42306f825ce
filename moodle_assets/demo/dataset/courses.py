"""Generation steps 4-6: enrolments, groups, and course contents (sections and modules with
their forums, assignments and quizzes)."""

from __future__ import annotations

import random
from typing import Any

from .model import DAY, Dataset, Record
from .parts import HIDDEN_WHEN_OVER, ROLE_IDS, THE_BIG_COURSE, has_qanda_forum, hidden_positions


def add_enrolments(data: Dataset, rng: random.Random) -> None:
    students = [u["id"] for u in data.users if u["kind"] == "student"]
    teachers = [u["id"] for u in data.users if u["kind"] == "teacher"]
    enrol_id = 0
    for course in data.courses[1:]:
        data.enrol_instances.append(
            {
                "id": len(data.enrol_instances) + 1,
                "courseid": course["id"],
                "type": "manual",
                "name": "Manual enrolments",
                "status": "1",
            }
        )
        instance = data.enrol_instances[-1]["id"]
        if course["id"] == THE_BIG_COURSE.id:  # like DS101 on the recorded site
            chosen = sorted(rng.sample(students, round(len(students) * 226 / 240)))
            staff = sorted(rng.sample(teachers, min(3, len(teachers))))
        else:
            chosen = sorted(rng.sample(students, min(len(students), rng.randint(24, 27))))
            staff = sorted(rng.sample(teachers, min(len(teachers), rng.randint(1, 3))))
        students_here = set(chosen)
        for uid in chosen + staff:
            enrol_id += 1
            is_student = uid in students_here
            start = course["startdate"] - rng.randint(0, 10) * DAY if course["startdate"] else 0
            accessed = rng.random() < 0.6 and course["visible"]
            data.enrolments.append(
                {
                    "id": enrol_id,
                    "enrolid": instance,
                    "courseid": course["id"],
                    "userid": uid,
                    "role": "student" if is_student else "editingteacher",
                    "roleid": ROLE_IDS["student" if is_student else "editingteacher"],
                    "status": 1 if is_student and rng.random() < 0.03 else 0,
                    "timestart": max(start, 0),
                    "timeend": 0,
                    "lastcourseaccess": rng.randint(data.now - 40 * DAY, data.now) if accessed else 0,
                }
            )
    data.enrolments.sort(key=lambda e: (e["courseid"], e["userid"]))
    # Two participants of the big course are never shown in participant lists (see hidden_user_ids).
    big = [e["userid"] for e in data.enrolments if e["courseid"] == THE_BIG_COURSE.id and e["role"] == "student"]
    if len(big) > HIDDEN_WHEN_OVER:
        data.hidden_user_ids = {big[position] for position in hidden_positions(len(big))}


def add_groups(data: Dataset, rng: random.Random) -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for course in data.courses[1:]:
        count = 2 + (course["id"] % 2)
        made = []
        for n in range(count):
            gid = len(data.groups) + 1
            made.append(gid)
            data.groups.append(
                {
                    "id": gid,
                    "courseid": course["id"],
                    "name": f"Group {letters[(gid - 1) % 26]}",
                    "description": f"Tutorial group {gid}",
                    "descriptionformat": 1,
                    "enrolmentkey": None,
                    "idnumber": f"{course['shortname']}-G{n + 1}",
                    "visibility": 0,
                    "participation": True,
                }
            )
        students = [e["userid"] for e in data.enrolments_of_course(course["id"]) if e["role"] == "student"]
        for position, uid in enumerate(students):
            if rng.random() < 0.1:
                continue  # about one student in ten is in no group
            data.group_members.append(
                {"groupid": made[position % count], "userid": uid, "timeadded": course["timecreated"]}
            )


def add_contents(data: Dataset, rng: random.Random) -> None:
    """Sections and course modules: a label, page, url, forum, two assigns and a quiz per course."""
    section_id = cmid = label = page = url = forum = assign = quiz = 0
    for course in data.courses[1:]:
        cid = course["id"]
        for number in range(5):
            section_id += 1
            data.sections.append(
                {
                    "id": section_id,
                    "courseid": cid,
                    "section": number,
                    "name": "General" if number == 0 else "New section",
                    "visible": 1,
                    "summary": "",
                }
            )

        # add() is called only within this iteration, so it reads this course's cid and course.
        def add(modname: str, instance: int, name: str, section: int, completion: int, **extra: Any) -> Record:
            nonlocal cmid
            cmid += 1
            row = {
                "id": cmid,
                "courseid": cid,  # noqa: B023
                "modname": modname,
                "instance": instance,
                "name": name,
                "section": section,
                "visible": 1,
                "completion": completion,
                "added": course["timecreated"],  # noqa: B023
            }
            row.update(extra)
            data.modules.append(row)
            return row

        label += 1
        add("label", label, f"Welcome to week 1 of {course['shortname']}", 1, 0)
        page += 1
        add("page", page, "Course handbook", 1, 2, completionview=1)
        url += 1
        add("url", url, "Reading list", 1, 1)
        forum += 1
        forum_cm = add("forum", forum, "General discussion", 2, 1)
        data.forums.append(
            {
                "id": forum,
                "course": cid,
                "cmid": forum_cm["id"],
                "type": "general",
                "name": "General discussion",
                "intro": f"Test forum {forum}",
                "timemodified": course["timecreated"],
            }
        )
        for n, title in ((1, "Essay 1"), (2, "Project report")):
            assign += 1
            cm = add("assign", assign, title, n + 1, 2, completionsubmit=1)
            due = data.now - 10 * DAY + (n - 1) * 20 * DAY + rng.randint(0, 5) * DAY
            data.assignments.append(
                {
                    "id": assign,
                    "cmid": cm["id"],
                    "course": cid,
                    "name": title,
                    "duedate": due,
                    "allowsubmissionsfromdate": due - 30 * DAY,
                    "gradingduedate": due + 7 * DAY,
                    "grade": 100,
                    "timemodified": course["timecreated"],
                    "intro": "Write 1000 words.",
                }
            )
        quiz += 1
        cm = add("quiz", quiz, "Week 3 quiz", 3, 2, completionusegrade=1)
        opened = data.now - 30 * DAY + rng.randint(0, 10) * DAY
        data.quizzes.append(
            {
                "id": quiz,
                "coursemodule": cm["id"],
                "course": cid,
                "name": "Week 3 quiz",
                "intro": f"Test quiz {quiz}",
                "section": 3,
                "timeopen": opened,
                "timeclose": opened + 40 * DAY,
                "timelimit": 1800,
                "attempts": 2,
                "sumgrades": 4.0,
                "grade": 10.0,
                "timecreated": course["timecreated"],
                "timemodified": course["timecreated"],
            }
        )
        if has_qanda_forum(cid):  # a Q&A forum in a third of the courses
            forum += 1
            qa_cm = add("forum", forum, "Q&A forum", 4, 0)
            data.forums.append(
                {
                    "id": forum,
                    "course": cid,
                    "cmid": qa_cm["id"],
                    "type": "qanda",
                    "name": "Q&A forum",
                    "intro": f"Test forum {forum}",
                    "timemodified": course["timecreated"],
                }
            )
