"""Generation steps 13-15: calendar events, badges and competencies."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from .model import DAY, Dataset
from .parts import ADMIN_ID, PLAN_USER_IDS, THE_BIG_COURSE, THE_SECOND_BADGE_COURSE, THE_SECOND_COMPETENCY_COURSE


def add_events(data: Dataset, rng: random.Random) -> None:
    """Events spread from now-90 days to now+30 days, like the recorded site."""
    start, span = data.now - 90 * DAY, 120 * DAY
    courses = [c["id"] for c in data.courses[1:]]
    users = [u["id"] for u in data.users if u["kind"] in ("student", "admin", "service")]

    def add(name: str, eventtype: str, when: int, **extra: Any) -> None:
        event = {
            "id": len(data.events) + 1,
            "name": name,
            "description": f"<p>{name} description</p>",
            "format": 1,
            "courseid": 0,
            "categoryid": None,
            "groupid": None,
            "userid": ADMIN_ID,
            "repeatid": None,
            "modulename": None,
            "instance": None,
            "eventtype": eventtype,
            "timestart": when,
            "timeduration": 0,
            "visible": 1,
            "sequence": 1,
            "timemodified": data.now - 4 * DAY,
            "subscriptionid": None,
        }
        event.update(extra)
        data.events.append(event)

    per_kind = max(60, round(60 * data.config.scale))
    for n in range(per_kind):
        add(f"Site event {n}", "site", start + n * span // per_kind)
    for n in range(per_kind):
        add(
            f"Course event {n}",
            "course",
            start + n * span // per_kind + rng.randint(0, 3600),
            courseid=courses[n % len(courses)],
            timeduration=3600,
        )
    series = len(data.events) + 1
    for n in range(6):  # a weekly repeating series in the big course
        add(
            "Weekly lab",
            "course",
            data.now - 21 * DAY + n * 7 * DAY,
            courseid=THE_BIG_COURSE.id,
            timeduration=5400,
            repeatid=series,
        )
    for n in range(per_kind):
        group = data.groups[n % len(data.groups)]
        add(
            f"Group event {n}",
            "group",
            start + n * span // per_kind + 600,
            courseid=group["courseid"],
            groupid=group["id"],
        )
    for n in range(per_kind):
        owner = ADMIN_ID if n % 3 == 0 else users[(n * 17) % len(users)]
        add(f"User event {n}", "user", start + n * span // per_kind + 1200, userid=owner)
    for assignment in data.assignments:
        add(
            f"{assignment['name']} is due",
            "due",
            assignment["duedate"],
            courseid=assignment["course"],
            modulename="assign",
            instance=assignment["id"],
        )
        add(
            f"{assignment['name']} is due to be graded",
            "gradingdue",
            assignment["gradingduedate"],
            courseid=assignment["course"],
            modulename="assign",
            instance=assignment["id"],
        )
    for quiz in data.quizzes:
        add(
            f"{quiz['name']} opens",
            "open",
            quiz["timeopen"],
            courseid=quiz["course"],
            modulename="quiz",
            instance=quiz["id"],
        )
        add(
            f"{quiz['name']} closes",
            "close",
            quiz["timeclose"],
            courseid=quiz["course"],
            modulename="quiz",
            instance=quiz["id"],
        )


def add_badges(data: Dataset, rng: random.Random) -> None:
    created = data.now - 4 * DAY
    specs = [
        ("Welcome aboard", "Completed the site orientation", 1, None, 3),
        ("Active learner", "Logged in every week", 1, None, 3),
        ("Retired badge", "No longer awarded", 1, None, 0),
        *(
            (f"{c.shortname} finisher", f"Completed {c.fullname}", 2, c.id, 3)
            for c in (THE_BIG_COURSE, THE_SECOND_BADGE_COURSE)
        ),
    ]
    for bid, (name, description, btype, course, status) in enumerate(specs, start=1):
        if course is not None and data.course(course) is None:
            continue
        data.badges.append(
            {
                "id": bid,
                "name": name,
                "description": description,
                "type": btype,
                "courseid": course,
                "status": status,
                "timecreated": created,
                "timemodified": created,
            }
        )
    students = [u["id"] for u in data.users if u["kind"] == "student"]
    for badge in data.badges:
        if badge["status"] == 0:
            continue
        pool = (
            students
            if badge["courseid"] is None
            else [e["userid"] for e in data.enrolments_of_course(badge["courseid"]) if e["role"] == "student"]
        )
        recipients = sorted(
            set(rng.sample(pool, min(len(pool), 9))) | ({students[1]} if badge["courseid"] is None else set())
        )
        for uid in recipients:
            issued = len(data.issued_badges) + 1
            data.issued_badges.append(
                {
                    "id": issued,
                    "badgeid": badge["id"],
                    "userid": uid,
                    "dateissued": created + issued * 60,
                    "dateexpire": None,
                    "visible": 1,
                    "uniquehash": hashlib.sha1(f"{data.config.seed}-{badge['id']}-{uid}".encode()).hexdigest(),
                }
            )


def add_competencies(data: Dataset, rng: random.Random) -> None:
    created = data.now - 4 * DAY
    data.competency_frameworks.append(
        {
            "id": 1,
            "shortname": "Digital Skills Framework",
            "idnumber": "DSF-2025",
            "description": "Digital skills",
            "scaleid": 3,
            "timecreated": created,
        }
    )
    names = ["Data literacy", "Programming", "Statistical reasoning", "Communication", "Data cleaning", "Visualisation"]
    for n, name in enumerate(names, start=1):
        parent = 1 if n in (5, 6) else 0
        data.competencies.append(
            {
                "id": n,
                "shortname": name,
                "idnumber": f"DSF-{n}",
                "description": f"{name} competency",
                "sortorder": n - 1 if not parent else n - 5,
                "parentid": parent,
                "path": "/0/1/" if parent else "/0/",
                "competencyframeworkid": 1,
                "timecreated": created,
            }
        )
    links = [(THE_BIG_COURSE.id, [1, 2, 3, 4, 5, 6]), (THE_SECOND_COMPETENCY_COURSE.id, [3, 1, 2, 4])]
    for course_id, comp_ids in links:
        if data.course(course_id) is None:
            continue
        for order, comp in enumerate(comp_ids):
            data.course_competencies.append(
                {
                    "id": len(data.course_competencies) + 1,
                    "courseid": course_id,
                    "competencyid": comp,
                    "sortorder": order,
                    "ruleoutcome": 1,
                    "timecreated": created,
                }
            )
    for link in data.course_competencies:
        learners = [e["userid"] for e in data.enrolments_of_course(link["courseid"]) if e["role"] == "student"][:18]
        for position, uid in enumerate(learners):
            rated = position % 9 != 8
            grade = rng.randint(1, 4) if rated else None
            data.user_competency_course.append(
                {
                    "id": len(data.user_competency_course) + 1,
                    "userid": uid,
                    "courseid": link["courseid"],
                    "competencyid": link["competencyid"],
                    "grade": grade,
                    "proficiency": None if grade is None else int(grade >= 3),
                    "timecreated": created + 60,
                }
            )
    for n, uid in enumerate(PLAN_USER_IDS, start=1):
        if data.user(uid) is not None:
            data.plans.append(
                {"id": n, "userid": uid, "name": f"Learning plan {n}", "status": 1, "timecreated": created}
            )
    teachers = [e["userid"] for e in data.enrolments_of_course(THE_BIG_COURSE.id) if e["role"] == "editingteacher"]
    data.competency_report_broken_user_ids = set(teachers[:1])
