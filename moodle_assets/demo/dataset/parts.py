"""The named parts of the demo site: the catalogue it is generated from, and the records with a role.

Tests and the emulator's handlers refer to these names instead of re-deriving magic ids.
Course ids follow the catalogue: the site course (the front page) is id 1, then the catalogue's
courses in order from id 2 (at ``scale=1`` each once; a larger scale repeats the catalogue with
numbered copies, a smaller one keeps its head). The ids below are those of a generated site
whose scale includes the course; :func:`unreadable_course_id` says which course stands in for
:data:`THE_UNREADABLE_COURSE` when the scale leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass

SITE_NAME = "Acme University LMS"
SITE_SHORTNAME = "acmelms"

# Users every Moodle has, and the first generated student (the students come next, then the
# teachers, then the harvest's service account: Dataset.service_user_id).
GUEST_ID = 1
ADMIN_ID = 2
FIRST_STUDENT_ID = 3

ROLE_IDS = {"editingteacher": 3, "teacher": 4, "student": 5}

# (id, name, idnumber, description, parent, sortorder); sortorder follows Moodle's tree order.
CATEGORIES = [
    (1, "Category 1", None, "", 0, 10000),
    (2, "Faculty of Science", "CAT-SCI", "Science programmes", 0, 20000),
    (3, "Faculty of Arts & Humanities", "CAT-ART", "Arts and humanities programmes", 0, 40000),
    (4, "Professional Development", "CAT-PD", "Staff and professional training", 0, 50000),
    (5, "Computer Science", "CAT-CS", "Computing programmes", 2, 30000),
]

THE_SITE_COURSE_ID = 1  # the front page: a course of format "site", in no category


@dataclass(frozen=True)
class CatalogueCourse:
    """A course of the catalogue; ``id`` is its id on a generated site (first cycle)."""

    shortname: str
    fullname: str
    category: int
    position: int  # index in COURSES

    @property
    def id(self) -> int:
        return self.position + THE_SITE_COURSE_ID + 1


COURSES = tuple(
    CatalogueCourse(shortname, fullname, category, position)
    for position, (shortname, fullname, category) in enumerate(
        [
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
    )
)


def _course(shortname: str) -> CatalogueCourse:
    return next(c for c in COURSES if c.shortname == shortname)


# Like DS101 on the recorded site: ~94 % of the students enrolled (several pages of
# enrolled users), the hidden participants, a weekly repeating event series, the paged forum,
# a course badge, competencies and the teacher whose competency report breaks.
THE_BIG_COURSE = COURSES[0]
THE_SECOND_BADGE_COURSE = _course("CS201")  # the other course with a course badge
THE_SECOND_COMPETENCY_COURSE = _course("CS305")  # the other course with competencies
THE_ENDED_COURSE = _course("PHY101")  # started 200 days ago, ended 20 days ago
THE_HIDDEN_COURSE = _course("PD-ONB")  # hidden, starts in 30 days: nobody has accessed it
THE_COURSE_WITHOUT_CRITERIA = _course("PD-GDPR")  # no completion criteria: no course_completion rows
THE_UNREADABLE_COURSE = _course("PD-LEAD")  # the token's user may not read it (a failed item)


def unreadable_course_id(course_ids: list[int]) -> int:
    """The id of THE_UNREADABLE_COURSE, or the last course when the scale leaves it out."""
    return THE_UNREADABLE_COURSE.id if THE_UNREADABLE_COURSE.id in course_ids else course_ids[-1]


def has_qanda_forum(course_id: int) -> bool:
    """A third of the courses have a Q&A forum besides the general one."""
    return course_id % 3 == 2


# The big course's general forum (the first forum made): paged through by creation order, at
# least PAGED_FORUM_DISCUSSIONS discussions (more at a larger scale), the first one pinned.
THE_PAGED_FORUM_ID = 1
PAGED_FORUM_DISCUSSIONS = 135

# Participants of the big course no caller may see (Dataset.hidden_user_ids): the students at
# these positions of its sorted student list, when it has more than HIDDEN_WHEN_OVER students.
HIDDEN_WHEN_OVER = 60


def hidden_positions(students: int) -> tuple[int, int]:
    return 40, students // 2 + 7


# Students with a learning plan (the first three).
PLAN_USER_IDS = (FIRST_STUDENT_ID, FIRST_STUDENT_ID + 1, FIRST_STUDENT_ID + 2)
