-- One row per learner and course: a learner is an enrolled user holding the student role.
-- $now (unix seconds) is the moment "days since access" and "overdue" are measured from.
-- Times come from moodle_t: timestamps, NULL where Moodle says 0 (never, no due date).
WITH learners AS (
    SELECT e.courseid, e.id AS userid, e.fullname, e.lastcourseaccess AS last_course_access
    FROM moodle_t.enrolled_users AS e
    WHERE list_contains(json_extract_string(e.roles, '$[*].shortname'), 'student')
),
activity AS (
    -- Moodle's own progress counts complete (1) and complete-pass (2); complete-fail (3) is not done.
    SELECT a.courseid, a.userid,
           count(*) FILTER (WHERE a.tracking > 0) AS activities_tracked,
           count(*) FILTER (WHERE a.tracking > 0 AND a.state IN (1, 2)) AS activities_completed
    FROM moodle.activity_completion AS a
    GROUP BY ALL
),
completion AS (
    -- Moodle reports no course-level completion time: the last criterion completed stands in.
    SELECT cc.courseid, cc.userid, cc.completed,
           CASE WHEN cc.completed THEN
               list_max(TRY_CAST(json_extract_string(cc.completions, '$[*].timecompleted') AS BIGINT[]))
           END AS completed_ts
    FROM moodle.course_completion AS cc
),
course_grade AS (
    SELECT g.courseid, g.userid,
           100 * (TRY_CAST(g.graderaw AS DOUBLE) - g.grademin) / NULLIF(g.grademax - g.grademin, 0) AS grade_pct
    FROM moodle.grade_items AS g
    WHERE g.itemtype = 'course'
),
due AS (
    -- Assignments whose due date has passed; "no submissions" (offline) assignments cannot be overdue.
    SELECT a.id AS assignmentid, a.course AS courseid
    FROM moodle_t.assignments AS a
    WHERE a.duedate < to_timestamp($now::BIGINT) AND coalesce(a.nosubmissions, 0) = 0
),
work AS (
    SELECT l.courseid, l.userid,
           count(d.assignmentid) AS assignments_due,
           count(d.assignmentid) FILTER (WHERE s.assignmentid IS NULL) AS overdue_assignments
    FROM learners AS l
    JOIN due AS d ON d.courseid = l.courseid
    LEFT JOIN (
        SELECT DISTINCT assignmentid, userid FROM moodle.assignment_submissions WHERE status = 'submitted'
    ) AS s ON s.assignmentid = d.assignmentid AND s.userid = l.userid
    GROUP BY ALL
),
attempts AS (
    SELECT q.course AS courseid, qa.userid,
           count(*) AS quiz_attempts,
           count(DISTINCT qa.quiz) AS quizzes_attempted
    FROM moodle.quiz_attempts AS qa
    JOIN moodle.quizzes AS q ON q.id = qa.quiz
    WHERE coalesce(qa.preview, 0) = 0
    GROUP BY ALL
)
SELECT
    l.courseid,
    c.shortname AS course_shortname,
    l.userid,
    l.fullname,
    coalesce(u.suspended, false) AS account_suspended,
    l.last_course_access,
    CAST(floor(($now::BIGINT - epoch(l.last_course_access)) / 86400) AS INTEGER) AS days_since_access,
    coalesce(a.activities_tracked, 0) AS activities_tracked,
    coalesce(a.activities_completed, 0) AS activities_completed,
    a.activities_completed / NULLIF(a.activities_tracked, 0) AS activity_completion_rate,
    cc.completed AS course_completed,
    to_timestamp(cc.completed_ts) AS course_completed_at,
    round(g.grade_pct, 2) AS course_grade_pct,
    coalesce(w.assignments_due, 0) AS assignments_due,
    coalesce(w.overdue_assignments, 0) AS overdue_assignments,
    coalesce(t.quiz_attempts, 0) AS quiz_attempts,
    coalesce(t.quizzes_attempted, 0) AS quizzes_attempted
FROM learners AS l
LEFT JOIN moodle.courses AS c ON c.id = l.courseid
LEFT JOIN moodle.users AS u ON u.id = l.userid
LEFT JOIN activity AS a ON a.courseid = l.courseid AND a.userid = l.userid
LEFT JOIN completion AS cc ON cc.courseid = l.courseid AND cc.userid = l.userid
LEFT JOIN course_grade AS g ON g.courseid = l.courseid AND g.userid = l.userid
LEFT JOIN work AS w ON w.courseid = l.courseid AND w.userid = l.userid
LEFT JOIN attempts AS t ON t.courseid = l.courseid AND t.userid = l.userid
ORDER BY l.courseid, l.userid
