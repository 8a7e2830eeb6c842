-- The first PostgreSQL schema: SQLite's schema 4, and the leadership lease (one row,
-- never held to begin with: term 0, expired since ever). Until sqlx kept the history,
-- the version was meta's schema row.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('schema', '1');
CREATE TABLE jobs (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    requester TEXT NOT NULL,
    channel TEXT NOT NULL,
    project TEXT,
    branch TEXT,
    app TEXT,
    tag TEXT,
    execution TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    ended_ms BIGINT,
    thread_channel TEXT,
    thread_id TEXT,
    summary_message TEXT,
    progress_message TEXT,
    approval_message TEXT,
    details TEXT NOT NULL
);
CREATE INDEX jobs_unfinished ON jobs (id) WHERE ended_ms IS NULL;
CREATE INDEX jobs_project ON jobs (project, id);
CREATE INDEX jobs_app ON jobs (app, id);
CREATE TABLE approvals (
    job_id BIGINT PRIMARY KEY REFERENCES jobs (id),
    app TEXT NOT NULL,
    tag TEXT NOT NULL,
    image TEXT,
    requester_id TEXT NOT NULL,
    requester TEXT NOT NULL,
    policy TEXT NOT NULL,
    requested_ms BIGINT NOT NULL,
    deadline_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_ms BIGINT,
    from_tag TEXT
);
CREATE TABLE votes (
    job_id BIGINT NOT NULL REFERENCES jobs (id),
    seq BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    via TEXT,
    PRIMARY KEY (job_id, user_id)
);
CREATE TABLE audit (
    job_id BIGINT NOT NULL REFERENCES jobs (id),
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE freezes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope TEXT NOT NULL,
    by_id TEXT NOT NULL,
    by_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    until_ms BIGINT NOT NULL,
    lifted_by_id TEXT,
    lifted_by_name TEXT,
    lifted_ms BIGINT
);
CREATE INDEX freezes_until ON freezes (until_ms);
CREATE INDEX freezes_scope ON freezes (scope, id);
CREATE TABLE lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    term BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
INSERT INTO lease (name, holder, term, expires_at) VALUES ('leader', '', 0, '-infinity');
