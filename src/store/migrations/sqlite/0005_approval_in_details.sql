-- The approval and its votes move into the job's details, the one form a job is kept
-- in (nothing ever queried them apart from their job). The audit trail stays a table,
-- appended to, each entry numbered within its job as on PostgreSQL.
UPDATE jobs SET details = json_set(details, '$.approval', json((
    SELECT json_object(
        'app', a.app,
        'tag', a.tag,
        'image', a.image,
        'from_tag', a.from_tag,
        'requester_id', a.requester_id,
        'requester', a.requester,
        'policy', json(a.policy),
        'requested_ms', a.requested_ms,
        'deadline_ms', a.deadline_ms,
        'votes', (
            SELECT json_group_array(json_object(
                'user_id', v.user_id,
                'name', v.name,
                'at_ms', v.at_ms,
                'via', COALESCE(v.via, 'command')
            ) ORDER BY v.at_ms, v.rowid)
            FROM votes v WHERE v.job_id = a.job_id
        ),
        'status', json(a.status)
    )
    FROM approvals a WHERE a.job_id = jobs.id
)))
WHERE id IN (SELECT job_id FROM approvals);
DROP TABLE votes;
DROP TABLE approvals;
ALTER TABLE audit ADD COLUMN seq INTEGER;
UPDATE audit SET seq = (SELECT COUNT(*) FROM audit b WHERE b.job_id = audit.job_id AND b.id < audit.id);
CREATE UNIQUE INDEX audit_seq ON audit (job_id, seq);
UPDATE meta SET value = '5' WHERE key = 'schema';
PRAGMA user_version = 5;
