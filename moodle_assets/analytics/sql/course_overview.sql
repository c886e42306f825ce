-- One row per course of moodle.courses: its learners, their activity, completion and grades,
-- and what the course contains. Learner figures come from analytics.learner_progress.
-- Course dates come from moodle_t.courses: timestamps, NULL for 0 (no start, no end).
WITH learners AS (
    SELECT lp.courseid,
           count(*) AS enrolled_learners,
           count(*) FILTER (WHERE epoch(lp.last_course_access) >= $now::BIGINT - 7 * 86400) AS active_7d,
           count(*) FILTER (WHERE epoch(lp.last_course_access) >= $now::BIGINT - 30 * 86400) AS active_30d,
           count(*) FILTER (WHERE lp.last_course_access IS NULL) AS never_accessed,
           count(*) FILTER (WHERE lp.account_suspended) AS suspended_learners,
           count(lp.course_completed) AS completion_tracked,
           count(*) FILTER (WHERE lp.course_completed) AS completed_learners,
           count(lp.course_grade_pct) AS graded_learners,
           avg(lp.course_grade_pct) AS avg_grade_pct,
           avg(lp.activity_completion_rate) AS avg_activity_completion_rate,
           CAST(sum(lp.overdue_assignments) AS BIGINT) AS overdue_assignments
    FROM analytics.learner_progress AS lp
    GROUP BY ALL
),
modules AS (
    -- What the course page shows: not Moodle 5.0's hidden question bank (qbank, in every course)
    -- nor any other module that cannot be displayed there (candisplay false, 5.0+; no completion).
    SELECT m.courseid, count(*) AS modules, count(*) FILTER (WHERE m.completion > 0) AS tracked_activities
    FROM moodle.course_modules AS m
    WHERE m.modname IS DISTINCT FROM 'qbank' AND coalesce(m.candisplay, true)
    GROUP BY ALL
),
assignments AS (SELECT a.course AS courseid, count(*) AS assignments FROM moodle.assignments AS a GROUP BY ALL),
quizzes AS (SELECT q.course AS courseid, count(*) AS quizzes FROM moodle.quizzes AS q GROUP BY ALL)
SELECT
    c.id AS courseid,
    c.shortname,
    c.fullname,
    c.visible = 1 AS visible,
    c.startdate AS start_date,
    c.enddate AS end_date,
    CASE
        WHEN c.startdate > to_timestamp($now::BIGINT) THEN 'upcoming'
        WHEN c.enddate < to_timestamp($now::BIGINT) THEN 'ended'
        ELSE 'running'
    END AS status,
    coalesce(l.enrolled_learners, 0) AS enrolled_learners,
    coalesce(l.active_7d, 0) AS active_7d,
    coalesce(l.active_30d, 0) AS active_30d,
    coalesce(l.never_accessed, 0) AS never_accessed,
    coalesce(l.suspended_learners, 0) AS suspended_learners,
    coalesce(l.completion_tracked, 0) AS completion_tracked,
    coalesce(l.completed_learners, 0) AS completed_learners,
    l.completed_learners / NULLIF(l.completion_tracked, 0) AS completion_rate,
    coalesce(l.graded_learners, 0) AS graded_learners,
    round(l.avg_grade_pct, 2) AS avg_grade_pct,
    l.avg_activity_completion_rate,
    coalesce(l.overdue_assignments, 0) AS overdue_assignments,
    coalesce(m.modules, 0) AS modules,
    coalesce(m.tracked_activities, 0) AS tracked_activities,
    coalesce(a.assignments, 0) AS assignments,
    coalesce(q.quizzes, 0) AS quizzes
FROM moodle_t.courses AS c
LEFT JOIN learners AS l ON l.courseid = c.id
LEFT JOIN modules AS m ON m.courseid = c.id
LEFT JOIN assignments AS a ON a.courseid = c.id
LEFT JOIN quizzes AS q ON q.courseid = c.id
ORDER BY c.id
