-- Learners of running courses who have not opened the course for $inactive_days days (or
-- never), or have assignments past due without a submitted submission, with the reasons.
-- Suspended accounts cannot log in and are left out; so are courses not started or ended.
WITH flagged AS (
    SELECT lp.courseid, lp.course_shortname, lp.userid, lp.fullname, lp.last_course_access,
           CAST(floor(($now::BIGINT - epoch(lp.last_course_access)) / 86400) AS INTEGER) AS days_since_access,
           lp.overdue_assignments,
           list_filter([
               CASE WHEN lp.last_course_access IS NULL THEN 'never_accessed' END,
               CASE WHEN $now::BIGINT - epoch(lp.last_course_access) >= $inactive_days::BIGINT * 86400 THEN 'inactive' END,
               CASE WHEN lp.overdue_assignments > 0 THEN 'overdue_work' END
           ], lambda r: r IS NOT NULL) AS reasons
    FROM analytics.learner_progress AS lp
    JOIN moodle.courses AS c ON c.id = lp.courseid
    WHERE NOT lp.account_suspended
      AND c.startdate <= $now::BIGINT
      AND (c.enddate = 0 OR c.enddate >= $now::BIGINT)
)
SELECT courseid, course_shortname, userid, fullname, last_course_access, days_since_access,
       overdue_assignments, reasons, len(reasons) AS reason_count,
       array_to_string(list_transform(reasons, lambda r: CASE r
           WHEN 'never_accessed' THEN 'never opened the course'
           WHEN 'inactive' THEN 'no access for ' || days_since_access || ' days'
           ELSE overdue_assignments || ' overdue assignment' || CASE WHEN overdue_assignments > 1 THEN 's' ELSE '' END
       END), '; ') AS reason_text
FROM flagged
WHERE len(reasons) > 0
ORDER BY courseid, userid
