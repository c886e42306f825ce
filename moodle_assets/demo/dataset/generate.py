"""The order the demo site is generated in (:func:`generate`)."""

from __future__ import annotations

import random

from moodle_assets import clock

from ..releases import add_question_banks
from .courses import add_contents, add_enrolments, add_groups
from .extras import add_badges, add_competencies, add_events
from .model import DAY, Dataset, DemoConfig
from .site import add_categories, add_courses, add_users
from .work import add_assign_work, add_completion, add_forum_work, add_grades, add_quiz_work

DEFAULT_CONFIG = DemoConfig()


def generate(config: DemoConfig = DEFAULT_CONFIG) -> Dataset:
    """Build the whole site; the only inputs are the config's seed, scale and ``now``.

    One random generator is drawn from by every step in turn, so the order below is part of
    the data: moving a step, or a draw inside one, changes every record after it. Each step
    reads only the tables of the steps before it:

    1. categories — the fixed tree (parts.CATEGORIES); no draws.
    2. courses — the catalogue (parts.COURSES) at the config's scale, their categories'
       course counts and sort orders, and THE_UNREADABLE_COURSE.
    3. users — guest, admin, the students, the teachers, then the service account (ids in
       that order, so the service user's id depends on the scale).
    4. enrolments — students and teachers of every course (THE_BIG_COURSE takes most
       students), then the big course's hidden participants: needs courses and users.
    5. groups — tutorial groups of each course's enrolled students: needs enrolments.
    6. contents — sections and modules, with the forums, assignments and quizzes they are.
    7. question banks — Moodle 5.0 only, no draws: renumbers the module ids made in step 6,
       so it comes before anything refers to a module (grade items, completion).
    8. assignment work — submissions and grades of the enrolled students.
    9. quiz work — attempts, finished and unfinished, then the few still running at ``now``
       (no draws: demo/overdue.py closes them the next day).
    10. completion — activity completion of tracked modules, then course completion.
    11. grades — grade items of assignments and quizzes (steps 6-7) and the students' grades.
    12. forum work — discussions of every forum (THE_PAGED_FORUM has the most).
    13. events — site, course, group, user and module events: needs groups, assignments, quizzes.
    14. badges — site and course badges issued to students: needs enrolments.
    15. competencies — the framework, course links, ratings and plans, and the teacher whose
        competency report breaks: needs enrolments.
    """
    now = config.now if config.now is not None else clock.now_ts()
    data = Dataset(config=config, now=now)
    rng = random.Random(config.seed)
    created = now - 5 * DAY  # when the site was "installed"
    add_categories(data, created)
    add_courses(data, rng, created)
    add_users(data, rng, created)
    add_enrolments(data, rng)
    add_groups(data, rng)
    add_contents(data, rng)
    add_question_banks(data)  # Moodle 5.0: a hidden question bank in every course
    add_assign_work(data, rng)
    add_quiz_work(data, rng)
    add_completion(data, rng)
    add_grades(data, rng)
    add_forum_work(data, rng)
    add_events(data, rng)
    add_badges(data, rng)
    add_competencies(data, rng)
    return data
