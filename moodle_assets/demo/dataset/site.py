"""Generation steps 1-3: the categories, the courses and the users of the demo site."""

from __future__ import annotations

import random
import unicodedata
from typing import Any

from .model import DAY, Dataset, Record
from .parts import (
    ADMIN_ID,
    CATEGORIES,
    COURSES,
    FIRST_STUDENT_ID,
    GUEST_ID,
    SITE_NAME,
    SITE_SHORTNAME,
    THE_COURSE_WITHOUT_CRITERIA,
    THE_ENDED_COURSE,
    THE_HIDDEN_COURSE,
    THE_SITE_COURSE_ID,
    THE_UNREADABLE_COURSE,
)

_TEACHERS = [
    ("Margaret", "Hamilton"),
    ("Alan", "Turing"),
    ("Ada", "Lovelace"),
    ("Grace", "Hopper"),
    ("Barbara", "Liskov"),
    ("Edsger", "Dijkstra"),
    ("Donald", "Knuth"),
    ("Frances", "Allen"),
]
_FIRST = [
    "Hiro",
    "Olga",
    "Emma",
    "Liam",
    "Sofia",
    "Noah",
    "Aisha",
    "Mateo",
    "Yuki",
    "Chen",
    "Ximena",
    "David",
    "Rosa",
    "Quinn",
    "Alice",
    "Omar",
    "Ines",
    "Lars",
    "Priya",
    "Tomas",
    "Zara",
    "Felix",
    "Nadia",
    "Kofi",
]
_LAST = [
    "Olsen",
    "Brown",
    "Novak",
    "Smith",
    "Garcia",
    "Haddad",
    "Andersson",
    "van der Berg",
    "Jones",
    "Kim",
    "Rossi",
    "Dubois",
    "Nakamura",
    "Okafor",
    "Kowalski",
    "Silva",
    "Müller",
    "O'Brien",
    "Patel",
    "Ivanova",
]
_DEPARTMENTS = ["Chemistry", "Philosophy", "Economics", "Mathematics", "Biology", "History", "Computer Science"]
_CITIES = [("Madrid", "ES"), ("London", "GB"), ("Toronto", "CA"), ("Warsaw", "PL"), ("Lyon", "FR"), ("Osaka", "JP")]


def _ascii(text: str) -> str:
    """An e-mail-safe slug of a name ("van der Berg" → "vanderberg", "Müller" → "muller")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def add_categories(data: Dataset, created: int) -> None:
    for cid, name, idnumber, description, parent, sortorder in CATEGORIES:
        data.categories.append(
            {
                "id": cid,
                "name": name,
                "idnumber": idnumber,
                "description": description,
                "descriptionformat": 1,
                "parent": parent,
                "sortorder": sortorder,
                "coursecount": 0,
                "visible": 1,
                "visibleold": 1,
                "timemodified": created,
                "depth": 2 if parent else 1,
                "path": f"/{parent}/{cid}" if parent else f"/{cid}",
                "theme": "",
            }
        )


def add_courses(data: Dataset, rng: random.Random, created: int) -> None:
    data.courses.append(
        {
            "id": THE_SITE_COURSE_ID,
            "shortname": SITE_SHORTNAME,
            "fullname": SITE_NAME,
            "idnumber": "",
            "categoryid": 0,
            "sortorder": 1,
            "summary": "Test Moodle site",
            "format": "site",
            "startdate": 0,
            "enddate": 0,
            "visible": 1,
            "numsections": 1,
            "newsitems": 3,
            "enablecompletion": 0,
            "timecreated": created,
            "timemodified": created,
            "contextid": 2,
            "has_criteria": False,
        }
    )
    count = max(1, round(len(COURSES) * data.config.scale))
    per_category: dict[int, int] = {}
    for index in range(count):
        part = COURSES[index % len(COURSES)]
        short, full, category = part.shortname, part.fullname, part.category
        cycle = index // len(COURSES)
        if cycle:
            short, full = f"{short}-{cycle + 1}", f"{full} ({cycle + 1})"
        start = data.now - rng.randint(20, 80) * DAY
        end = start + 150 * DAY
        visible = 1
        base = part.shortname
        if base == THE_ENDED_COURSE.shortname:  # a course that has already ended
            start, end = data.now - 200 * DAY, data.now - 20 * DAY
        if base == THE_HIDDEN_COURSE.shortname:  # hidden, starts in the future
            start, end, visible = data.now + 30 * DAY, data.now + 120 * DAY, 0
        per_category[category] = per_category.get(category, 0) + 1
        data.courses.append(
            {
                "id": COURSES[0].id + index,
                "shortname": short,
                "fullname": full,
                "idnumber": f"CRS-{short}",
                "categoryid": category,
                "sortorder": 0,
                "format": "topics",
                "summary": f"<p>{full} — course summary for <strong>{short}</strong>.</p>",
                "startdate": start,
                "enddate": end,
                "visible": visible,
                "numsections": 4,
                "newsitems": 0,
                "enablecompletion": 1,
                "timecreated": created + 2 * index,
                "timemodified": created + 2 * index,
                "contextid": 263 + index,
                "has_criteria": base != THE_COURSE_WITHOUT_CRITERIA.shortname,
            }
        )
    # Moodle inserts a new course at the top of its category: later ids sort first.
    for course in data.courses[1:]:
        category = data.category(course["categoryid"])
        assert category is not None
        category["coursecount"] += 1
        later = sum(1 for c in data.courses[1:] if c["categoryid"] == course["categoryid"] and c["id"] > course["id"])
        course["sortorder"] = category["sortorder"] + later + 1
    unreadable = next(
        (c["id"] for c in data.courses if c["shortname"] == THE_UNREADABLE_COURSE.shortname), data.courses[-1]["id"]
    )
    data.unreadable_course_ids = {unreadable}


def add_users(data: Dataset, rng: random.Random, created: int) -> None:
    def base(uid: int, username: str, first: str, last: str, email: str, **extra: Any) -> Record:
        city, country = _CITIES[uid % len(_CITIES)]
        row = {
            "id": uid,
            "username": username,
            "firstname": first,
            "lastname": last,
            "fullname": f"{first} {last}",
            "email": email,
            "idnumber": "",
            "department": "",
            "institution": "",
            "city": city,
            "country": country,
            "auth": "manual",
            "suspended": False,
            "confirmed": True,
            "lang": "en",
            "timezone": "99",
            "firstaccess": 0,
            "lastaccess": 0,
            "description": "",
            "customfields": [],
            "kind": "student",
            "timecreated": created,
        }
        row.update(extra)
        return row

    data.users.append(
        base(
            GUEST_ID,
            "guest",
            "Guest user",
            " ",
            "root@localhost",
            kind="guest",
            city="",
            country="",
            description="This user is a special user that allows read-only access to some courses.",
        )
    )
    data.users.append(
        base(
            ADMIN_ID,
            "admin",
            "Admin",
            "User",
            "admin@example.edu",
            kind="admin",
            firstaccess=created,
            lastaccess=data.now - 300,
        )
    )
    students = max(2, round(240 * data.config.scale))
    for n in range(1, students + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        department = rng.choice(_DEPARTMENTS)
        fields: list[Record] = []
        if n % 3 != 0:
            fields.append({"type": "text", "value": department, "name": "Department", "shortname": "department"})
        if n % 3 != 1:
            fields.append(
                {"type": "menu", "value": rng.choice(["Yes", "No"]), "name": "Cohort year", "shortname": "cohortyear"}
            )
        first_access = data.now - rng.randint(10, 160) * DAY
        slug = _ascii(last)
        data.users.append(
            base(
                FIRST_STUDENT_ID + n - 1,
                f"student{n:03d}",
                first,
                last,
                f"{first.lower()}.{slug}{n:03d}@students.example.edu",
                idnumber=f"S1{n:04d}",
                department=department if n % 3 != 0 else "",
                institution="Acme University",
                firstaccess=first_access,
                lastaccess=rng.randint(first_access, data.now),
                customfields=fields,
                suspended=(n == students - 1),
            )
        )
    teachers = max(1, round(8 * data.config.scale))
    first_teacher = FIRST_STUDENT_ID + students
    for n in range(teachers):
        first, last = _TEACHERS[n % len(_TEACHERS)]
        suffix = "" if n < len(_TEACHERS) else str(n // len(_TEACHERS) + 1)
        data.users.append(
            base(
                first_teacher + n,
                f"teacher{n + 1}",
                first,
                last,
                f"{first.lower()}.{last.lower()}{suffix}@staff.example.edu",
                idnumber=f"T{n + 1:04d}",
                department=rng.choice(_DEPARTMENTS),
                institution="Acme University",
                firstaccess=data.now - 300 * DAY,
                lastaccess=data.now - 600,
                kind="teacher",
                city="London",
                country="GB",
                customfields=[{"type": "text", "value": "Staff", "name": "Department", "shortname": "department"}],
            )
        )
    data.service_user_id = first_teacher + teachers
    data.users.append(
        base(
            data.service_user_id,
            "svc_ingest",
            "Ingestion",
            "Service",
            "svc_ingest@example.edu",
            kind="service",
            firstaccess=created,
            lastaccess=data.now - 60,
        )
    )
    data.users.sort(key=lambda u: u["id"])
