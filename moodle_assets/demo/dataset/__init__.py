"""The demo site's data: a deterministic, generated Moodle with the shape of the recorded one.

At ``scale=1`` it mirrors the real Moodle 4.5 site the recordings come from (12 courses in 5
categories, 240 students, 8 teachers, a big course DS101 with ~230 enrolments, groups,
assignments with submissions in every status, quizzes with finished and unfinished attempts,
forums with one busy forum, completion, grades, badges, competencies and calendar events over
four months). The records are plain dicts close to what the web services return, so a test can
compare a harvested table with ``Dataset`` directly. The same ``seed`` and ``now`` always give
the same data.

The site is built from named parts (:mod:`.parts`: THE_BIG_COURSE, THE_PAGED_FORUM_ID,
THE_UNREADABLE_COURSE, ...) in the order :func:`generate` states; :mod:`.model` holds the
tables, and :mod:`.site`, :mod:`.courses`, :mod:`.work` and :mod:`.extras` the steps.
"""

from .generate import generate
from .model import DAY, Dataset, DemoConfig, Record
from .parts import (
    ADMIN_ID,
    COURSES,
    FIRST_STUDENT_ID,
    GUEST_ID,
    PAGED_FORUM_DISCUSSIONS,
    PLAN_USER_IDS,
    ROLE_IDS,
    SITE_NAME,
    SITE_SHORTNAME,
    THE_BIG_COURSE,
    THE_COURSE_WITHOUT_CRITERIA,
    THE_ENDED_COURSE,
    THE_HIDDEN_COURSE,
    THE_PAGED_FORUM_ID,
    THE_SECOND_BADGE_COURSE,
    THE_SECOND_COMPETENCY_COURSE,
    THE_SITE_COURSE_ID,
    THE_UNREADABLE_COURSE,
    CatalogueCourse,
)

__all__ = [
    "ADMIN_ID",
    "COURSES",
    "DAY",
    "FIRST_STUDENT_ID",
    "GUEST_ID",
    "PAGED_FORUM_DISCUSSIONS",
    "PLAN_USER_IDS",
    "ROLE_IDS",
    "SITE_NAME",
    "SITE_SHORTNAME",
    "THE_BIG_COURSE",
    "THE_COURSE_WITHOUT_CRITERIA",
    "THE_ENDED_COURSE",
    "THE_HIDDEN_COURSE",
    "THE_PAGED_FORUM_ID",
    "THE_SECOND_BADGE_COURSE",
    "THE_SECOND_COMPETENCY_COURSE",
    "THE_SITE_COURSE_ID",
    "THE_UNREADABLE_COURSE",
    "CatalogueCourse",
    "Dataset",
    "DemoConfig",
    "Record",
    "generate",
]
