"""The analytics models: what each table is, what it reads, and what must hold of it.

The SQL lives beside this file in ``sql/<name>.sql`` and reads ``moodle.*`` and
``analytics.*`` tables by their plain names, so a model can be pasted into any DuckDB
client opened on the warehouse (or its snapshot). This module only describes the models;
:mod:`.factory` turns each into a Dagster asset with its checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

SCHEMA = "analytics"
SQL_DIR = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class Model:
    """One table of schema ``analytics`` built by one SELECT."""

    name: str
    description: str
    reads: tuple[str, ...]  # raw assets (moodle/<name>) the SQL reads
    key: tuple[str, ...]  # columns unique together
    columns: dict[str, str]  # column -> description, in table order
    rates: tuple[str, ...] = ()  # columns that must lie between 0 and 1
    upstream: tuple[str, ...] = ()  # analytics models the SQL reads
    course_column: str = "courseid"  # must name a course of moodle.courses

    @property
    def table(self) -> str:
        return f"{SCHEMA}.{self.name}"

    @cached_property
    def sql(self) -> str:
        return (SQL_DIR / f"{self.name}.sql").read_text().strip().rstrip(";")


LEARNER_PROGRESS = Model(
    name="learner_progress",
    description=(
        "One row per learner and course (enrolled users holding the student role): last access, "
        "activities completed of those tracked, course completion, current course grade, "
        "overdue assignments and quiz attempts, measured at the run's `now`."
    ),
    reads=(
        "enrolled_users",
        "courses",
        "users",
        "activity_completion",
        "course_completion",
        "grade_items",
        "assignments",
        "assignment_submissions",
        "quizzes",
        "quiz_attempts",
    ),
    key=("courseid", "userid"),
    rates=("activity_completion_rate",),
    columns={
        "courseid": "Course id (moodle.courses.id).",
        "course_shortname": "Course short name.",
        "userid": "Learner's user id.",
        "fullname": "Learner's full name as Moodle shows it.",
        "account_suspended": "The user account is suspended (moodle.users.suspended). Suspended "
        "enrolments are not visible through core_enrol_get_enrolled_users.",
        "last_course_access": "Last time the learner opened the course; NULL = never.",
        "days_since_access": "Whole days from last_course_access to now; NULL = never.",
        "activities_tracked": "Activities with completion tracking (moodle.activity_completion).",
        "activities_completed": "Tracked activities complete or complete-pass (state 1 or 2).",
        "activity_completion_rate": "activities_completed / activities_tracked (0-1); NULL if none tracked.",
        "course_completed": "Course completion status; NULL when the course has no completion criteria.",
        "course_completed_at": "When the last completion criterion was met (Moodle reports no course-level time).",
        "course_grade_pct": "Course total from the gradebook, 0-100; NULL when ungraded.",
        "assignments_due": "Assignments of the course whose due date has passed.",
        "overdue_assignments": "Of those, assignments without a submitted submission by this learner.",
        "quiz_attempts": "Quiz attempts in the course (any state, previews excluded).",
        "quizzes_attempted": "Distinct quizzes of the course attempted.",
    },
)

COURSE_OVERVIEW = Model(
    name="course_overview",
    description=(
        "One row per course: learners enrolled, active in the last 7 and 30 days, never seen and "
        "suspended; completion rate; average course grade (0-100); modules, assignments and quizzes."
    ),
    reads=("courses", "course_modules", "assignments", "quizzes"),
    upstream=("learner_progress",),
    key=("courseid",),
    rates=("completion_rate", "avg_activity_completion_rate"),
    columns={
        "courseid": "Course id.",
        "shortname": "Course short name.",
        "fullname": "Course full name.",
        "visible": "Course is visible to learners.",
        "start_date": "Course start date; NULL if unset.",
        "end_date": "Course end date; NULL if unset.",
        "status": "upcoming, running or ended, at now.",
        "enrolled_learners": "Enrolled users with the student role.",
        "active_7d": "Learners who opened the course in the 7 days before now.",
        "active_30d": "Learners who opened the course in the 30 days before now.",
        "never_accessed": "Learners who never opened the course.",
        "suspended_learners": "Learners whose user account is suspended (enrolment suspension is not "
        "visible through the web services used).",
        "completion_tracked": "Learners with a course completion status (course has criteria).",
        "completed_learners": "Learners who completed the course.",
        "completion_rate": "completed_learners / completion_tracked (0-1); NULL without criteria.",
        "graded_learners": "Learners with a course total grade.",
        "avg_grade_pct": "Average course total of graded learners, 0-100.",
        "avg_activity_completion_rate": "Average share of tracked activities learners completed (0-1).",
        "overdue_assignments": "Overdue assignment-learner pairs (see learner_progress).",
        "modules": "Course modules (activities and resources) in moodle.course_modules.",
        "tracked_activities": "Modules with completion tracking.",
        "assignments": "Assignments in the course.",
        "quizzes": "Quizzes in the course.",
    },
)

ASSESSMENT_RESULTS = Model(
    name="assessment_results",
    description=(
        "One row per quiz and per assignment: attempts or submissions by state, participation, "
        "average and median score (0-100), pass rate against the pass mark, late submissions."
    ),
    reads=(
        "quizzes",
        "quiz_attempts",
        "assignments",
        "assignment_submissions",
        "grade_items",
        "enrolled_users",
        "courses",
    ),
    key=("activity_type", "activity_id"),
    rates=("participation_rate", "pass_rate"),
    columns={
        "activity_type": "quiz or assign.",
        "activity_id": "Quiz id or assignment id (the module instance).",
        "cmid": "Course module id.",
        "courseid": "Course id.",
        "course_shortname": "Course short name.",
        "name": "Activity name.",
        "due_date": "Assignment due date or quiz close time; NULL if none.",
        "learners": "Learners enrolled in the course.",
        "records": "Quiz attempts (previews excluded) or submission records.",
        "by_state": "JSON object: records per state (finished, inprogress... / new, draft, submitted, reopened).",
        "completed": "Finished attempts or submitted submissions.",
        "completed_learners": "Distinct learners with a finished attempt or a submitted submission.",
        "participation_rate": "completed_learners / learners (0-1).",
        "scored": "Scores averaged: finished attempts (quiz) or gradebook grades (assignment).",
        "avg_score_pct": "Average score, 0-100.",
        "median_score_pct": "Median score, 0-100.",
        "pass_mark_pct": "Pass mark used (analytics.pass_percent); Moodle's web services return none.",
        "pass_rate": "Share of scores at or above the pass mark (0-1).",
        "late_submissions": "Submitted after the due date (assignments only).",
    },
)

ENGAGEMENT_WEEKLY = Model(
    name="engagement_weekly",
    description=(
        "One row per course and ISO week with activity: forum discussions started, calendar deadlines "
        "(due / close events), assignment submissions and quiz attempts."
    ),
    reads=(
        "forums",
        "forum_discussions",
        "calendar_events",
        "assignments",
        "assignment_submissions",
        "quizzes",
        "quiz_attempts",
        "courses",
    ),
    key=("courseid", "week_start"),
    columns={
        "courseid": "Course id.",
        "course_shortname": "Course short name.",
        "week_start": "Monday of the ISO week (UTC).",
        "iso_year": "ISO year of the week.",
        "iso_week": "ISO week number.",
        "discussions_started": "Forum discussions created in the week.",
        "deadlines": "Calendar events of type due or close starting in the week (loaded partitions only).",
        "submissions": "Assignment submissions with status submitted, by last change, in the week.",
        "quiz_attempts": "Quiz attempts started in the week.",
    },
)

AT_RISK_LEARNERS = Model(
    name="at_risk_learners",
    description=(
        "Learners of running courses with no course access for inactive_days (14) days or more, "
        "never any access, or overdue assignments — with the reasons. Suspended accounts are left out."
    ),
    reads=("courses",),
    upstream=("learner_progress",),
    key=("courseid", "userid"),
    columns={
        "courseid": "Course id.",
        "course_shortname": "Course short name.",
        "userid": "Learner's user id.",
        "fullname": "Learner's full name.",
        "last_course_access": "Last time the learner opened the course; NULL = never.",
        "days_since_access": "Whole days since last_course_access at now.",
        "overdue_assignments": "Assignments past due without a submitted submission.",
        "reasons": "List of never_accessed, inactive, overdue_work.",
        "reason_count": "Number of reasons.",
        "reason_text": "The reasons in words, e.g. 'no access for 20 days; 1 overdue assignment'.",
    },
)

MODELS: tuple[Model, ...] = (LEARNER_PROGRESS, COURSE_OVERVIEW, ASSESSMENT_RESULTS, ENGAGEMENT_WEEKLY, AT_RISK_LEARNERS)
