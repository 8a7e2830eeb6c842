-- The approval and its votes move into the job's details, the one form a job is kept
-- in (nothing ever queried them apart from their job). The audit trail stays a table,
-- appended to.
UPDATE jobs j SET details = jsonb_set(j.details::jsonb, '{approval}', (
    SELECT jsonb_build_object(
        'app', a.app,
        'tag', a.tag,
        'image', a.image,
        'from_tag', a.from_tag,
        'requester_id', a.requester_id,
        'requester', a.requester,
        'policy', a.policy::jsonb,
        'requested_ms', a.requested_ms,
        'deadline_ms', a.deadline_ms,
        'votes', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'user_id', v.user_id,
                'name', v.name,
                'at_ms', v.at_ms,
                'via', COALESCE(v.via, 'command')
            ) ORDER BY v.at_ms, v.seq)
            FROM votes v WHERE v.job_id = a.job_id
        ), '[]'::jsonb),
        'status', a.status::jsonb
    )
    FROM approvals a WHERE a.job_id = j.id
))::text
WHERE j.id IN (SELECT job_id FROM approvals);
DROP TABLE votes;
DROP TABLE approvals;
UPDATE meta SET value = '2' WHERE key = 'schema';
