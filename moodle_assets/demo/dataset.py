"""The demo site's data: a deterministic, generated Moodle with the shape of the recorded one.

At ``scale=1`` it mirrors the real Moodle 4.5 site the recordings come from (12 courses in 5
categories, 240 students, 8 teachers, a big course DS101 with ~230 enrolments, groups,
assignments with submissions in every status, quizzes with finished and unfinished attempts,
forums with one busy forum, completion, grades, badges, competencies and calendar events over
four months). The records are plain dicts close to what the web services return, so a test can
compare a harvested table with ``Dataset`` directly. The same ``seed`` and ``now`` always give
the same data.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from moodle_assets import clock

from .releases import add_question_banks, release_of

Record = dict[str, Any]
DAY = 86400

SITE_NAME = "Acme University LMS"
SITE_SHORTNAME = "acmelms"
ADMIN_ID = 2
GUEST_ID = 1

# (id, name, idnumber, description, parent, sortorder); sortorder follows Moodle's tree order.
_CATEGORIES = [
    (1, "Category 1", None, "", 0, 10000),
    (2, "Faculty of Science", "CAT-SCI", "Science programmes", 0, 20000),
    (3, "Faculty of Arts & Humanities", "CAT-ART", "Arts and humanities programmes", 0, 40000),
    (4, "Professional Development", "CAT-PD", "Staff and professional training", 0, 50000),
    (5, "Computer Science", "CAT-CS", "Computing programmes", 2, 30000),
]

# (shortname, fullname, category id)
_COURSES = [
    ("DS101", "Introduction to Data Science", 5),
    ("CS201", "Algorithms and Data Structures", 5),
    ("CS305", "Databases", 5),
    ("BIO110", "Cell Biology", 2),
    ("CHEM120", "General Chemistry", 2),
    ("PHY101", "Physics I: Mechanics", 2),
    ("HIST210", "Modern European History", 3),
    ("PHIL101", "Introduction to Philosophy", 3),
    ("LIT150", "World Literature", 3),
    ("PD-GDPR", "GDPR Essentials", 4),
    ("PD-LEAD", "Leadership Foundations", 4),
    ("PD-ONB", "Staff Onboarding", 4),
]

_TEACHERS = [
    ("Margaret", "Hamilton"), ("Alan", "Turing"), ("Ada", "Lovelace"), ("Grace", "Hopper"),
    ("Barbara", "Liskov"), ("Edsger", "Dijkstra"), ("Donald", "Knuth"), ("Frances", "Allen"),
]
_FIRST = [
    "Hiro", "Olga", "Emma", "Liam", "Sofia", "Noah", "Aisha", "Mateo", "Yuki", "Chen", "Ximena", "David",
    "Rosa", "Quinn", "Alice", "Omar", "Ines", "Lars", "Priya", "Tomas", "Zara", "Felix", "Nadia", "Kofi",
]
_LAST = [
    "Olsen", "Brown", "Novak", "Smith", "Garcia", "Haddad", "Andersson", "van der Berg", "Jones", "Kim",
    "Rossi", "Dubois", "Nakamura", "Okafor", "Kowalski", "Silva", "Müller", "O'Brien", "Patel", "Ivanova",
]
_DEPARTMENTS = ["Chemistry", "Philosophy", "Economics", "Mathematics", "Biology", "History", "Computer Science"]
_CITIES = [("Madrid", "ES"), ("London", "GB"), ("Toronto", "CA"), ("Warsaw", "PL"), ("Lyon", "FR"), ("Osaka", "JP")]

def _ascii(text: str) -> str:
    """An e-mail-safe slug of a name ("van der Berg" → "vanderberg", "Müller" → "muller")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


ROLE_IDS = {"editingteacher": 3, "teacher": 4, "student": 5}


@dataclass(frozen=True)
class DemoConfig:
    """What the generated site looks like; equal configs give equal datasets."""

    seed: int = 7
    scale: float = 1.0
    now: int | None = None  # unix seconds; None = the project clock (moodle_assets.clock)
    moodle_version: str = "4.5"  # the release the site answers as: "4.5" or "5.0" (demo/releases.py)
    release: str = ""  # site info's release and version; "" = those of moodle_version
    version: str = ""
    badges_enabled: bool = True
    competencies_enabled: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "release", self.release or release_of(self).release)
        object.__setattr__(self, "version", self.version or release_of(self).version)


@dataclass
class Dataset:
    """Every table of the demo site, as lists of dicts (ids are 1-based, as in Moodle)."""

    config: DemoConfig
    now: int
    categories: list[Record] = field(default_factory=list)
    courses: list[Record] = field(default_factory=list)
    users: list[Record] = field(default_factory=list)
    enrolments: list[Record] = field(default_factory=list)
    enrol_instances: list[Record] = field(default_factory=list)
    groups: list[Record] = field(default_factory=list)
    group_members: list[Record] = field(default_factory=list)
    sections: list[Record] = field(default_factory=list)
    modules: list[Record] = field(default_factory=list)
    assignments: list[Record] = field(default_factory=list)
    submissions: list[Record] = field(default_factory=list)
    assign_grades: list[Record] = field(default_factory=list)
    quizzes: list[Record] = field(default_factory=list)
    quiz_attempts: list[Record] = field(default_factory=list)
    activity_completion: list[Record] = field(default_factory=list)
    course_completion: list[Record] = field(default_factory=list)
    grade_items: list[Record] = field(default_factory=list)
    grades: list[Record] = field(default_factory=list)
    forums: list[Record] = field(default_factory=list)
    discussions: list[Record] = field(default_factory=list)
    events: list[Record] = field(default_factory=list)
    badges: list[Record] = field(default_factory=list)
    issued_badges: list[Record] = field(default_factory=list)
    competency_frameworks: list[Record] = field(default_factory=list)
    competencies: list[Record] = field(default_factory=list)
    course_competencies: list[Record] = field(default_factory=list)
    user_competency_course: list[Record] = field(default_factory=list)
    plans: list[Record] = field(default_factory=list)
    unreadable_course_ids: set[int] = field(default_factory=set)
    # Users no caller may see in participant lists: core_enrol_get_enrolled_users drops them
    # *after* applying limitfrom/limitnumber, which is why some pages come back short.
    hidden_user_ids: set[int] = field(default_factory=set)
    # A teacher for whom report_competency_data_for_report fails with a PHP error, as on 4.5.
    competency_report_broken_user_ids: set[int] = field(default_factory=set)
    service_user_id: int = 0
    _index: dict[str, dict[Any, Any]] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- look-ups

    def _by(self, table: str, key: str) -> dict[Any, Record]:
        name = f"{table}.{key}"
        if name not in self._index:
            self._index[name] = {row[key]: row for row in getattr(self, table)}
        return self._index[name]

    def _group(self, table: str, key: str) -> dict[Any, list[Record]]:
        name = f"{table}[{key}]"
        if name not in self._index:
            grouped: dict[Any, list[Record]] = {}
            for row in getattr(self, table):
                grouped.setdefault(row[key], []).append(row)
            self._index[name] = grouped
        return self._index[name]

    def course(self, course_id: int) -> Record | None:
        return self._by("courses", "id").get(course_id)

    def user(self, user_id: int) -> Record | None:
        return self._by("users", "id").get(user_id)

    def category(self, category_id: int) -> Record | None:
        return self._by("categories", "id").get(category_id)

    def enrolments_of_course(self, course_id: int) -> list[Record]:
        return self._group("enrolments", "courseid").get(course_id, [])

    def enrolments_of_user(self, user_id: int) -> list[Record]:
        return self._group("enrolments", "userid").get(user_id, [])

    def enrolment(self, course_id: int, user_id: int) -> Record | None:
        return next((row for row in self.enrolments_of_user(user_id) if row["courseid"] == course_id), None)

    def groups_of_course(self, course_id: int) -> list[Record]:
        return self._group("groups", "courseid").get(course_id, [])

    def group(self, group_id: int) -> Record | None:
        return self._by("groups", "id").get(group_id)

    def members_of_group(self, group_id: int) -> list[int]:
        return [row["userid"] for row in self._group("group_members", "groupid").get(group_id, [])]

    def groups_of_user(self, user_id: int) -> list[Record]:
        ids = {row["groupid"] for row in self._group("group_members", "userid").get(user_id, [])}
        return [g for g in self.groups if g["id"] in ids]

    def modules_of_course(self, course_id: int) -> list[Record]:
        return self._group("modules", "courseid").get(course_id, [])

    def module(self, cmid: int) -> Record | None:
        return self._by("modules", "id").get(cmid)

    def sections_of_course(self, course_id: int) -> list[Record]:
        return self._group("sections", "courseid").get(course_id, [])

    def assignment(self, assign_id: int) -> Record | None:
        return self._by("assignments", "id").get(assign_id)

    def quiz(self, quiz_id: int) -> Record | None:
        return self._by("quizzes", "id").get(quiz_id)

    def forum(self, forum_id: int) -> Record | None:
        return self._by("forums", "id").get(forum_id)

    def teachers_of(self, course_id: int) -> list[Record]:
        return [e for e in self.enrolments_of_course(course_id) if e["role"] == "editingteacher"]


# ==================================================================== generation


def generate(config: DemoConfig = DemoConfig()) -> Dataset:
    """Build the whole site; the only inputs are the config's seed, scale and ``now``."""
    now = config.now if config.now is not None else clock.now_ts()
    data = Dataset(config=config, now=now)
    rng = random.Random(config.seed)
    created = now - 5 * DAY  # when the site was "installed"
    _categories(data, created)
    _courses(data, rng, created)
    _users(data, rng, created)
    _enrolments(data, rng)
    _groups(data, rng)
    _contents(data, rng)
    add_question_banks(data)  # Moodle 5.0: a hidden question bank in every course
    _assign_work(data, rng)
    _quiz_work(data, rng)
    _completion(data, rng)
    _grades(data, rng)
    _forum_work(data, rng)
    _events(data, rng)
    _badges(data, rng)
    _competencies(data, rng)
    return data


def _categories(data: Dataset, created: int) -> None:
    for cid, name, idnumber, description, parent, sortorder in _CATEGORIES:
        data.categories.append({
            "id": cid, "name": name, "idnumber": idnumber, "description": description,
            "descriptionformat": 1, "parent": parent, "sortorder": sortorder, "coursecount": 0,
            "visible": 1, "visibleold": 1, "timemodified": created, "depth": 2 if parent else 1,
            "path": f"/{parent}/{cid}" if parent else f"/{cid}", "theme": "",
        })


def _courses(data: Dataset, rng: random.Random, created: int) -> None:
    data.courses.append({
        "id": 1, "shortname": SITE_SHORTNAME, "fullname": SITE_NAME, "idnumber": "", "categoryid": 0,
        "sortorder": 1, "summary": "Test Moodle site", "format": "site", "startdate": 0, "enddate": 0,
        "visible": 1, "numsections": 1, "newsitems": 3, "enablecompletion": 0, "timecreated": created,
        "timemodified": created, "contextid": 2, "has_criteria": False,
    })
    count = max(1, round(len(_COURSES) * data.config.scale))
    per_category: dict[int, int] = {}
    for index in range(count):
        short, full, category = _COURSES[index % len(_COURSES)]
        cycle = index // len(_COURSES)
        if cycle:
            short, full = f"{short}-{cycle + 1}", f"{full} ({cycle + 1})"
        start = data.now - rng.randint(20, 80) * DAY
        end = start + 150 * DAY
        visible = 1
        base = _COURSES[index % len(_COURSES)][0]
        if base == "PHY101":  # a course that has already ended
            start, end = data.now - 200 * DAY, data.now - 20 * DAY
        if base == "PD-ONB":  # hidden, starts in the future
            start, end, visible = data.now + 30 * DAY, data.now + 120 * DAY, 0
        per_category[category] = per_category.get(category, 0) + 1
        data.courses.append({
            "id": index + 2, "shortname": short, "fullname": full, "idnumber": f"CRS-{short}",
            "categoryid": category, "sortorder": 0, "format": "topics",
            "summary": f"<p>{full} — course summary for <strong>{short}</strong>.</p>",
            "startdate": start, "enddate": end, "visible": visible, "numsections": 4, "newsitems": 0,
            "enablecompletion": 1, "timecreated": created + 2 * index, "timemodified": created + 2 * index,
            "contextid": 263 + index, "has_criteria": base != "PD-GDPR",
        })
    # Moodle inserts a new course at the top of its category: later ids sort first.
    for course in data.courses[1:]:
        category = data.category(course["categoryid"])
        assert category is not None
        category["coursecount"] += 1
        later = sum(1 for c in data.courses[1:] if c["categoryid"] == course["categoryid"] and c["id"] > course["id"])
        course["sortorder"] = category["sortorder"] + later + 1
    unreadable = next((c["id"] for c in data.courses if c["shortname"] == "PD-LEAD"), data.courses[-1]["id"])
    data.unreadable_course_ids = {unreadable}


def _users(data: Dataset, rng: random.Random, created: int) -> None:
    def base(uid: int, username: str, first: str, last: str, email: str, **extra: Any) -> Record:
        city, country = _CITIES[uid % len(_CITIES)]
        row = {
            "id": uid, "username": username, "firstname": first, "lastname": last,
            "fullname": f"{first} {last}", "email": email, "idnumber": "", "department": "",
            "institution": "", "city": city, "country": country, "auth": "manual", "suspended": False,
            "confirmed": True, "lang": "en", "timezone": "99", "firstaccess": 0, "lastaccess": 0,
            "description": "", "customfields": [], "kind": "student", "timecreated": created,
        }
        row.update(extra)
        return row

    data.users.append(
        base(GUEST_ID, "guest", "Guest user", " ", "root@localhost", kind="guest", city="", country="",
             description="This user is a special user that allows read-only access to some courses.")
    )
    data.users.append(
        base(ADMIN_ID, "admin", "Admin", "User", "admin@example.edu", kind="admin",
             firstaccess=created, lastaccess=data.now - 300)
    )
    students = max(2, round(240 * data.config.scale))
    for n in range(1, students + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        department = rng.choice(_DEPARTMENTS)
        fields: list[Record] = []
        if n % 3 != 0:
            fields.append({"type": "text", "value": department, "name": "Department", "shortname": "department"})
        if n % 3 != 1:
            fields.append({"type": "menu", "value": rng.choice(["Yes", "No"]), "name": "Cohort year", "shortname": "cohortyear"})
        first_access = data.now - rng.randint(10, 160) * DAY
        slug = _ascii(last)
        data.users.append(
            base(
                n + 2, f"student{n:03d}", first, last,
                f"{first.lower()}.{slug}{n:03d}@students.example.edu",
                idnumber=f"S1{n:04d}", department=department if n % 3 != 0 else "",
                institution="Acme University", firstaccess=first_access,
                lastaccess=rng.randint(first_access, data.now), customfields=fields,
                suspended=(n == students - 1),
            )
        )
    teachers = max(1, round(8 * data.config.scale))
    first_teacher = students + 3
    for n in range(teachers):
        first, last = _TEACHERS[n % len(_TEACHERS)]
        suffix = "" if n < len(_TEACHERS) else str(n // len(_TEACHERS) + 1)
        data.users.append(
            base(
                first_teacher + n, f"teacher{n + 1}", first, last,
                f"{first.lower()}.{last.lower()}{suffix}@staff.example.edu",
                idnumber=f"T{n + 1:04d}", department=rng.choice(_DEPARTMENTS),
                institution="Acme University", firstaccess=data.now - 300 * DAY, lastaccess=data.now - 600,
                kind="teacher", city="London", country="GB",
                customfields=[{"type": "text", "value": "Staff", "name": "Department", "shortname": "department"}],
            )
        )
    data.service_user_id = first_teacher + teachers
    data.users.append(
        base(data.service_user_id, "svc_ingest", "Ingestion", "Service", "svc_ingest@example.edu",
             kind="service", firstaccess=created, lastaccess=data.now - 60)
    )
    data.users.sort(key=lambda u: u["id"])


def _enrolments(data: Dataset, rng: random.Random) -> None:
    students = [u["id"] for u in data.users if u["kind"] == "student"]
    teachers = [u["id"] for u in data.users if u["kind"] == "teacher"]
    enrol_id = 0
    for course in data.courses[1:]:
        data.enrol_instances.append(
            {"id": len(data.enrol_instances) + 1, "courseid": course["id"], "type": "manual", "name": "Manual enrolments", "status": "1"}
        )
        instance = data.enrol_instances[-1]["id"]
        if course["id"] == 2:  # the big course, like DS101 on the recorded site
            chosen = sorted(rng.sample(students, round(len(students) * 226 / 240)))
            staff = sorted(rng.sample(teachers, min(3, len(teachers))))
        else:
            chosen = sorted(rng.sample(students, min(len(students), rng.randint(24, 27))))
            staff = sorted(rng.sample(teachers, min(len(teachers), rng.randint(1, 3))))
        for uid in chosen + staff:
            enrol_id += 1
            is_student = uid in chosen
            start = course["startdate"] - rng.randint(0, 10) * DAY if course["startdate"] else 0
            accessed = rng.random() < 0.6 and course["visible"]
            data.enrolments.append(
                {
                    "id": enrol_id, "enrolid": instance, "courseid": course["id"], "userid": uid,
                    "role": "student" if is_student else "editingteacher",
                    "roleid": ROLE_IDS["student" if is_student else "editingteacher"],
                    "status": 1 if is_student and rng.random() < 0.03 else 0,
                    "timestart": max(start, 0), "timeend": 0,
                    "lastcourseaccess": rng.randint(data.now - 40 * DAY, data.now) if accessed else 0,
                }
            )
    data.enrolments.sort(key=lambda e: (e["courseid"], e["userid"]))
    # Two participants of the big course are never shown in participant lists (see hidden_user_ids).
    big = [e["userid"] for e in data.enrolments if e["courseid"] == 2 and e["role"] == "student"]
    if len(big) > 60:
        data.hidden_user_ids = {big[40], big[len(big) // 2 + 7]}


def _groups(data: Dataset, rng: random.Random) -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for course in data.courses[1:]:
        count = 2 + (course["id"] % 2)
        made = []
        for n in range(count):
            gid = len(data.groups) + 1
            made.append(gid)
            data.groups.append(
                {
                    "id": gid, "courseid": course["id"], "name": f"Group {letters[(gid - 1) % 26]}",
                    "description": f"Tutorial group {gid}", "descriptionformat": 1, "enrolmentkey": None,
                    "idnumber": f"{course['shortname']}-G{n + 1}", "visibility": 0, "participation": True,
                }
            )
        students = [e["userid"] for e in data.enrolments_of_course(course["id"]) if e["role"] == "student"]
        for position, uid in enumerate(students):
            if rng.random() < 0.1:
                continue  # about one student in ten is in no group
            data.group_members.append({"groupid": made[position % count], "userid": uid, "timeadded": course["timecreated"]})


def _contents(data: Dataset, rng: random.Random) -> None:
    """Sections and course modules: a label, page, url, forum, two assigns and a quiz per course."""
    section_id = cmid = label = page = url = forum = assign = quiz = 0
    for course in data.courses[1:]:
        cid = course["id"]
        for number in range(5):
            section_id += 1
            data.sections.append(
                {"id": section_id, "courseid": cid, "section": number, "name": "General" if number == 0 else "New section",
                 "visible": 1, "summary": ""}
            )

        def add(modname: str, instance: int, name: str, section: int, completion: int, **extra: Any) -> Record:
            nonlocal cmid
            cmid += 1
            row = {"id": cmid, "courseid": cid, "modname": modname, "instance": instance, "name": name,
                   "section": section, "visible": 1, "completion": completion, "added": course["timecreated"]}
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
        data.forums.append({"id": forum, "course": cid, "cmid": forum_cm["id"], "type": "general",
                            "name": "General discussion", "intro": f"Test forum {forum}", "timemodified": course["timecreated"]})
        for n, title in ((1, "Essay 1"), (2, "Project report")):
            assign += 1
            cm = add("assign", assign, title, n + 1, 2, completionsubmit=1)
            due = data.now - 10 * DAY + (n - 1) * 20 * DAY + rng.randint(0, 5) * DAY
            data.assignments.append(
                {"id": assign, "cmid": cm["id"], "course": cid, "name": title, "duedate": due,
                 "allowsubmissionsfromdate": due - 30 * DAY, "gradingduedate": due + 7 * DAY, "grade": 100,
                 "timemodified": course["timecreated"], "intro": "Write 1000 words."}
            )
        quiz += 1
        cm = add("quiz", quiz, "Week 3 quiz", 3, 2, completionusegrade=1)
        opened = data.now - 30 * DAY + rng.randint(0, 10) * DAY
        data.quizzes.append(
            {"id": quiz, "coursemodule": cm["id"], "course": cid, "name": "Week 3 quiz", "intro": f"Test quiz {quiz}",
             "section": 3, "timeopen": opened, "timeclose": opened + 40 * DAY, "timelimit": 1800, "attempts": 2,
             "sumgrades": 4.0, "grade": 10.0, "timecreated": course["timecreated"], "timemodified": course["timecreated"]}
        )
        if cid % 3 == 2:  # a Q&A forum in a third of the courses
            forum += 1
            qa_cm = add("forum", forum, "Q&A forum", 4, 0)
            data.forums.append({"id": forum, "course": cid, "cmid": qa_cm["id"], "type": "qanda",
                                "name": "Q&A forum", "intro": f"Test forum {forum}", "timemodified": course["timecreated"]})


def _assign_work(data: Dataset, rng: random.Random) -> None:
    statuses = ["new", "draft", "submitted"]
    for assignment in data.assignments:
        learners = [e["userid"] for e in data.enrolments_of_course(assignment["course"]) if e["role"] == "student"]
        for position, uid in enumerate(learners):
            if position % 5 == 4:
                continue  # not every student has a submission row
            status = statuses[(position + assignment["id"]) % 3]
            if status == "submitted" and position % 11 == 0:
                status = "reopened"
            stamp = min(data.now - 60, assignment["allowsubmissionsfromdate"] + rng.randint(1, 25) * DAY)
            graded = status in ("submitted", "reopened") and assignment["id"] % 2 == 1 and rng.random() < 0.6
            data.submissions.append(
                {"id": len(data.submissions) + 1, "assignment": assignment["id"], "userid": uid, "status": status,
                 "attemptnumber": 0, "timecreated": stamp, "timemodified": stamp if status == "new" else stamp + 3600,
                 "timestarted": None, "groupid": 0, "gradingstatus": "graded" if graded else "notgraded"}
            )
            if graded:
                data.assign_grades.append(
                    {"id": len(data.assign_grades) + 1, "assignment": assignment["id"], "userid": uid,
                     "attemptnumber": 0, "timecreated": stamp + 2 * DAY, "timemodified": stamp + 2 * DAY,
                     "grader": ADMIN_ID, "grade": float(rng.randint(40, 100))}
                )


def _quiz_work(data: Dataset, rng: random.Random) -> None:
    for quiz in data.quizzes:
        learners = [e["userid"] for e in data.enrolments_of_course(quiz["course"]) if e["role"] == "student"]
        for position, uid in enumerate(learners):
            if position % 3 == 2:
                continue
            tries = 2 if position % 4 == 0 else 1
            for attempt in range(1, tries + 1):
                unfinished = attempt == tries and position % 6 == 1
                start = min(data.now - 3600, quiz["timeopen"] + rng.randint(1, 20) * DAY + attempt * 3600)
                attempt_id = len(data.quiz_attempts) + 1
                data.quiz_attempts.append(
                    {"id": attempt_id, "quiz": quiz["id"], "userid": uid, "attempt": attempt, "uniqueid": attempt_id,
                     "layout": "1,2,0,3,0", "currentpage": 0, "preview": 0,
                     "state": "inprogress" if unfinished else "finished", "timestart": start,
                     "timefinish": 0 if unfinished else start + 900, "timemodified": start + (0 if unfinished else 900),
                     "timemodifiedoffline": 0, "timecheckstate": start + 1800 if unfinished else None,
                     "sumgrades": None if unfinished else round(rng.randint(0, 40) / 10, 1),
                     "gradednotificationsenttime": None if unfinished else start + 900}
                )


def _completion(data: Dataset, rng: random.Random) -> None:
    for course in data.courses[1:]:
        tracked = [m for m in data.modules_of_course(course["id"]) if m["completion"]]
        for enrolment in data.enrolments_of_course(course["id"]):
            if enrolment["role"] != "student":
                continue
            uid = enrolment["userid"]
            done_all = True
            for module in tracked:
                state = 1 if rng.random() < 0.55 else 0
                if module["modname"] == "page" and uid % 4 != 2:
                    state = 1
                if state:
                    data.activity_completion.append(
                        {"cmid": module["id"], "courseid": course["id"], "userid": uid, "state": state,
                         "timecompleted": min(data.now - 60, course["startdate"] + rng.randint(1, 30) * DAY)}
                    )
                elif module["modname"] in ("page", "url"):
                    done_all = False
            if course["has_criteria"]:
                data.course_completion.append(
                    {"courseid": course["id"], "userid": uid, "timeenrolled": enrolment["timestart"],
                     "timecompleted": data.now - rng.randint(1, 20) * DAY if done_all else None}
                )


def _grades(data: Dataset, rng: random.Random) -> None:
    item_id = 0
    for course in data.courses[1:]:
        item_id += 1
        total_id = item_id
        data.grade_items.append(
            {"id": total_id, "courseid": course["id"], "itemname": None, "itemtype": "course", "itemmodule": None,
             "iteminstance": course["id"], "cmid": None, "grademax": 100.0, "categoryid": None}
        )
        mods = [("assign", a) for a in data.assignments if a["course"] == course["id"]]
        mods += [("quiz", q) for q in data.quizzes if q["course"] == course["id"]]
        own_items = []
        for modname, instance in mods:
            item_id += 1
            own_items.append(item_id)
            data.grade_items.append(
                {"id": item_id, "courseid": course["id"], "itemname": instance["name"], "itemtype": "mod",
                 "itemmodule": modname, "iteminstance": instance["id"],
                 "cmid": instance.get("cmid", instance.get("coursemodule")),
                 "grademax": float(instance["grade"]), "categoryid": total_id}
            )
        for enrolment in data.enrolments_of_course(course["id"]):
            if enrolment["role"] != "student":
                continue
            values = []
            for iid in own_items:
                item = next(i for i in data.grade_items if i["id"] == iid)
                if rng.random() < 0.5:
                    value = round(rng.uniform(0.3, 1.0) * item["grademax"], 2)
                    values.append(value / item["grademax"])
                    data.grades.append({"itemid": iid, "userid": enrolment["userid"], "finalgrade": value,
                                        "timemodified": data.now - rng.randint(1, 30) * DAY})
            if values:
                data.grades.append({"itemid": total_id, "userid": enrolment["userid"],
                                    "finalgrade": round(100 * sum(values) / len(own_items), 2),
                                    "timemodified": data.now - DAY})


def _forum_work(data: Dataset, rng: random.Random) -> None:
    post_id = 0
    for forum in data.forums:
        participants = [e["userid"] for e in data.enrolments_of_course(forum["course"])]
        course = data.course(forum["course"])
        assert course is not None
        if forum["id"] == 1:
            count = max(135, round(135 * data.config.scale))
        else:
            count = rng.randint(2, 6) if forum["type"] == "general" else rng.randint(1, 3)
        for n in range(count):
            author = participants[(n * 7) % len(participants)]
            created = data.now - 70 * DAY + n * (60 * DAY // max(count, 1)) + rng.randint(0, 3600)
            replies = rng.randint(0, 4)
            last = created + rng.randint(0, 20) * DAY if replies else created
            last = min(last, data.now - 60)
            post_id += 1
            first_post = post_id
            post_id += replies
            replier = participants[(n * 13 + 5) % len(participants)] if replies else author
            data.discussions.append(
                {"discussion": len(data.discussions) + 1, "id": first_post, "forum": forum["id"],
                 "name": f"Week {n % 12 + 1} question #{n + 1}", "userid": author, "usermodified": replier,
                 "created": created, "timemodified": last, "numreplies": replies, "groupid": -1,
                 "pinned": forum["id"] == 1 and n == 0,
                 "message": f"<p>Discussion {n + 1} in {course['shortname']}: how do we approach topic {n % 4 + 1}?</p>"}
            )


def _events(data: Dataset, rng: random.Random) -> None:
    """Events spread from now-90 days to now+30 days, like the recorded site."""
    start, span = data.now - 90 * DAY, 120 * DAY
    courses = [c["id"] for c in data.courses[1:]]
    users = [u["id"] for u in data.users if u["kind"] in ("student", "admin", "service")]

    def add(name: str, eventtype: str, when: int, **extra: Any) -> None:
        event = {"id": len(data.events) + 1, "name": name, "description": f"<p>{name} description</p>", "format": 1,
                 "courseid": 0, "categoryid": None, "groupid": None, "userid": ADMIN_ID, "repeatid": None,
                 "modulename": None, "instance": None, "eventtype": eventtype, "timestart": when,
                 "timeduration": 0, "visible": 1, "sequence": 1, "timemodified": data.now - 4 * DAY,
                 "subscriptionid": None}
        event.update(extra)
        data.events.append(event)

    per_kind = max(60, round(60 * data.config.scale))
    for n in range(per_kind):
        add(f"Site event {n}", "site", start + n * span // per_kind)
    for n in range(per_kind):
        add(f"Course event {n}", "course", start + n * span // per_kind + rng.randint(0, 3600),
            courseid=courses[n % len(courses)], timeduration=3600)
    series = len(data.events) + 1
    for n in range(6):  # a weekly repeating series in the big course
        add("Weekly lab", "course", data.now - 21 * DAY + n * 7 * DAY, courseid=2, timeduration=5400, repeatid=series)
    for n in range(per_kind):
        group = data.groups[n % len(data.groups)]
        add(f"Group event {n}", "group", start + n * span // per_kind + 600, courseid=group["courseid"], groupid=group["id"])
    for n in range(per_kind):
        owner = ADMIN_ID if n % 3 == 0 else users[(n * 17) % len(users)]
        add(f"User event {n}", "user", start + n * span // per_kind + 1200, userid=owner)
    for assignment in data.assignments:
        add(f"{assignment['name']} is due", "due", assignment["duedate"], courseid=assignment["course"],
            modulename="assign", instance=assignment["id"])
        add(f"{assignment['name']} is due to be graded", "gradingdue", assignment["gradingduedate"],
            courseid=assignment["course"], modulename="assign", instance=assignment["id"])
    for quiz in data.quizzes:
        add(f"{quiz['name']} opens", "open", quiz["timeopen"], courseid=quiz["course"], modulename="quiz", instance=quiz["id"])
        add(f"{quiz['name']} closes", "close", quiz["timeclose"], courseid=quiz["course"], modulename="quiz", instance=quiz["id"])


def _badges(data: Dataset, rng: random.Random) -> None:
    created = data.now - 4 * DAY
    specs = [
        ("Welcome aboard", "Completed the site orientation", 1, None, 3),
        ("Active learner", "Logged in every week", 1, None, 3),
        ("Retired badge", "No longer awarded", 1, None, 0),
        ("DS101 finisher", "Completed Introduction to Data Science", 2, 2, 3),
        ("CS201 finisher", "Completed Algorithms and Data Structures", 2, 3, 3),
    ]
    for bid, (name, description, btype, course, status) in enumerate(specs, start=1):
        if course is not None and data.course(course) is None:
            continue
        data.badges.append({"id": bid, "name": name, "description": description, "type": btype, "courseid": course,
                            "status": status, "timecreated": created, "timemodified": created})
    students = [u["id"] for u in data.users if u["kind"] == "student"]
    for badge in data.badges:
        if badge["status"] == 0:
            continue
        pool = students if badge["courseid"] is None else [
            e["userid"] for e in data.enrolments_of_course(badge["courseid"]) if e["role"] == "student"]
        recipients = sorted(set(rng.sample(pool, min(len(pool), 9))) | ({students[1]} if badge["courseid"] is None else set()))
        for uid in recipients:
            issued = len(data.issued_badges) + 1
            data.issued_badges.append(
                {"id": issued, "badgeid": badge["id"], "userid": uid, "dateissued": created + issued * 60,
                 "dateexpire": None, "visible": 1,
                 "uniquehash": hashlib.sha1(f"{data.config.seed}-{badge['id']}-{uid}".encode()).hexdigest()}
            )


def _competencies(data: Dataset, rng: random.Random) -> None:
    created = data.now - 4 * DAY
    data.competency_frameworks.append(
        {"id": 1, "shortname": "Digital Skills Framework", "idnumber": "DSF-2025", "description": "Digital skills",
         "scaleid": 3, "timecreated": created}
    )
    names = ["Data literacy", "Programming", "Statistical reasoning", "Communication", "Data cleaning", "Visualisation"]
    for n, name in enumerate(names, start=1):
        parent = 1 if n in (5, 6) else 0
        data.competencies.append(
            {"id": n, "shortname": name, "idnumber": f"DSF-{n}", "description": f"{name} competency",
             "sortorder": n - 1 if not parent else n - 5, "parentid": parent, "path": "/0/1/" if parent else "/0/",
             "competencyframeworkid": 1, "timecreated": created}
        )
    links = [(2, [1, 2, 3, 4, 5, 6]), (4, [3, 1, 2, 4])]
    for course_id, comp_ids in links:
        if data.course(course_id) is None:
            continue
        for order, comp in enumerate(comp_ids):
            data.course_competencies.append(
                {"id": len(data.course_competencies) + 1, "courseid": course_id, "competencyid": comp,
                 "sortorder": order, "ruleoutcome": 1, "timecreated": created}
            )
    for link in data.course_competencies:
        learners = [e["userid"] for e in data.enrolments_of_course(link["courseid"]) if e["role"] == "student"][:18]
        for position, uid in enumerate(learners):
            rated = position % 9 != 8
            grade = rng.randint(1, 4) if rated else None
            data.user_competency_course.append(
                {"id": len(data.user_competency_course) + 1, "userid": uid, "courseid": link["courseid"],
                 "competencyid": link["competencyid"], "grade": grade,
                 "proficiency": None if grade is None else int(grade >= 3), "timecreated": created + 60}
            )
    for n, uid in enumerate((3, 4, 5), start=1):
        if data.user(uid) is not None:
            data.plans.append({"id": n, "userid": uid, "name": f"Learning plan {n}", "status": 1, "timecreated": created})
    teachers = [e["userid"] for e in data.enrolments_of_course(2) if e["role"] == "editingteacher"]
    data.competency_report_broken_user_ids = set(teachers[:1])
