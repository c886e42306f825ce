-- One row per quiz and per assignment. Scores are normalised to 0-100: a quiz attempt's
-- sumgrades over the quiz's sumgrades (finished attempts), an assignment's grade from the
-- gradebook (graderaw between grademin and grademax; cast, as Moodle may send "57.00000").
-- Moodle's web services do not return pass grades, so a pass is a score >= $pass_percent
-- (NULL leaves pass_rate empty).
WITH learners AS (
    SELECT e.courseid, count(*) AS learners
    FROM moodle.enrolled_users AS e
    WHERE list_contains(json_extract_string(e.roles, '$[*].shortname'), 'student')
    GROUP BY ALL
),
attempts AS (
    SELECT qa.quiz AS quizid, qa.userid, qa.state,
           CASE WHEN qa.state = 'finished' THEN 100 * TRY_CAST(qa.sumgrades AS DOUBLE) / NULLIF(q.sumgrades, 0) END
               AS score_pct
    FROM moodle.quiz_attempts AS qa
    JOIN moodle.quizzes AS q ON q.id = qa.quiz
    WHERE coalesce(qa.preview, 0) = 0
),
quiz_states AS (
    SELECT quizid, json_group_object(state, n) AS by_state
    FROM (SELECT quizid, state, count(*) AS n FROM attempts GROUP BY ALL ORDER BY state)
    GROUP BY ALL
),
quiz_stats AS (
    SELECT quizid,
           count(*) AS records,
           count(*) FILTER (WHERE state = 'finished') AS completed,
           count(DISTINCT userid) FILTER (WHERE state = 'finished') AS completed_learners,
           count(score_pct) AS scored,
           avg(score_pct) AS avg_score_pct,
           median(score_pct) AS median_score_pct,
           avg(CAST(score_pct >= $pass_percent::DOUBLE AS INTEGER)) AS pass_rate
    FROM attempts
    GROUP BY ALL
),
submissions AS (
    SELECT s.assignmentid, s.userid, s.status,
           s.status = 'submitted' AND s.timemodified > a.duedate AS late  -- NULL without a due date
    FROM moodle_t.assignment_submissions AS s
    JOIN moodle_t.assignments AS a ON a.id = s.assignmentid
),
assign_states AS (
    SELECT assignmentid, json_group_object(status, n) AS by_state
    FROM (SELECT assignmentid, status, count(*) AS n FROM submissions GROUP BY ALL ORDER BY status)
    GROUP BY ALL
),
assign_stats AS (
    SELECT assignmentid,
           count(*) AS records,
           count(*) FILTER (WHERE status = 'submitted') AS completed,
           count(DISTINCT userid) FILTER (WHERE status = 'submitted') AS completed_learners,
           count(*) FILTER (WHERE late) AS late_submissions
    FROM submissions
    GROUP BY ALL
),
assign_grades AS (
    SELECT g.iteminstance AS assignmentid,
           100 * (TRY_CAST(g.graderaw AS DOUBLE) - g.grademin) / NULLIF(g.grademax - g.grademin, 0) AS score_pct
    FROM moodle.grade_items AS g
    WHERE g.itemtype = 'mod' AND g.itemmodule = 'assign' AND g.graderaw IS NOT NULL
),
assign_scores AS (
    SELECT assignmentid,
           count(score_pct) AS scored,
           avg(score_pct) AS avg_score_pct,
           median(score_pct) AS median_score_pct,
           avg(CAST(score_pct >= $pass_percent::DOUBLE AS INTEGER)) AS pass_rate
    FROM assign_grades
    GROUP BY ALL
),
results AS (
    SELECT 'quiz' AS activity_type, q.id AS activity_id, q.coursemodule AS cmid, q.course AS courseid, q.name,
           q.timeclose AS due_date,
           coalesce(st.records, 0) AS records, coalesce(qs.by_state, '{}'::JSON) AS by_state,
           coalesce(st.completed, 0) AS completed, coalesce(st.completed_learners, 0) AS completed_learners,
           coalesce(st.scored, 0) AS scored, st.avg_score_pct, st.median_score_pct, st.pass_rate,
           CAST(NULL AS BIGINT) AS late_submissions
    FROM moodle_t.quizzes AS q
    LEFT JOIN quiz_stats AS st ON st.quizid = q.id
    LEFT JOIN quiz_states AS qs ON qs.quizid = q.id
    UNION ALL
    SELECT 'assign', a.id, a.cmid, a.course, a.name,
           a.duedate,
           coalesce(st.records, 0), coalesce(ast.by_state, '{}'::JSON),
           coalesce(st.completed, 0), coalesce(st.completed_learners, 0),
           coalesce(sc.scored, 0), sc.avg_score_pct, sc.median_score_pct, sc.pass_rate,
           coalesce(st.late_submissions, 0)
    FROM moodle_t.assignments AS a
    LEFT JOIN assign_stats AS st ON st.assignmentid = a.id
    LEFT JOIN assign_states AS ast ON ast.assignmentid = a.id
    LEFT JOIN assign_scores AS sc ON sc.assignmentid = a.id
)
SELECT r.activity_type, r.activity_id, r.cmid, r.courseid, c.shortname AS course_shortname, r.name, r.due_date,
       coalesce(l.learners, 0) AS learners,
       r.records, r.by_state, r.completed, r.completed_learners,
       r.completed_learners / NULLIF(l.learners, 0) AS participation_rate,
       r.scored,
       round(r.avg_score_pct, 2) AS avg_score_pct,
       round(r.median_score_pct, 2) AS median_score_pct,
       $pass_percent::DOUBLE AS pass_mark_pct,
       r.pass_rate,
       r.late_submissions
FROM results AS r
LEFT JOIN moodle.courses AS c ON c.id = r.courseid
LEFT JOIN learners AS l ON l.courseid = r.courseid
ORDER BY r.courseid, r.activity_type DESC, r.activity_id
