-- One row per course and ISO week (Monday start, UTC) in which something happened: forum
-- discussions started, calendar deadlines (assignment due dates, quiz closes), assignment
-- submissions (submitted, by last change) and quiz attempts started. Weeks with no activity
-- have no row. moodle.calendar_events is partitioned and may hold only some days. Times come
-- from moodle_t (timestamps, NULL for 0); weeks are UTC weeks whatever the session's time zone.
WITH happenings AS (
    SELECT f.course AS courseid, d.created AS ts, 'discussion' AS kind
    FROM moodle_t.forum_discussions AS d
    JOIN moodle.forums AS f ON f.id = d.forumid
    UNION ALL
    SELECT ce.courseid, ce.timestart, 'deadline'
    FROM moodle_t.calendar_events AS ce
    WHERE ce.eventtype IN ('due', 'close') AND ce.courseid > 0
    UNION ALL
    SELECT a.course, s.timemodified, 'submission'
    FROM moodle_t.assignment_submissions AS s
    JOIN moodle.assignments AS a ON a.id = s.assignmentid
    WHERE s.status = 'submitted'
    UNION ALL
    SELECT q.course, qa.timestart, 'attempt'
    FROM moodle_t.quiz_attempts AS qa
    JOIN moodle.quizzes AS q ON q.id = qa.quiz
    WHERE coalesce(qa.preview, 0) = 0
),
dated AS (
    SELECT courseid, kind, timezone('UTC', ts) AS at FROM happenings WHERE ts IS NOT NULL
)
SELECT
    d.courseid,
    c.shortname AS course_shortname,
    CAST(date_trunc('week', d.at) AS DATE) AS week_start,
    isoyear(d.at) AS iso_year,
    week(d.at) AS iso_week,
    count(*) FILTER (WHERE d.kind = 'discussion') AS discussions_started,
    count(*) FILTER (WHERE d.kind = 'deadline') AS deadlines,
    count(*) FILTER (WHERE d.kind = 'submission') AS submissions,
    count(*) FILTER (WHERE d.kind = 'attempt') AS quiz_attempts
FROM dated AS d
LEFT JOIN moodle.courses AS c ON c.id = d.courseid
GROUP BY ALL
ORDER BY d.courseid, week_start
