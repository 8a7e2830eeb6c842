-- The first schema (releasebot 0.1.0): jobs with their details, approvals, votes and
-- the audit trail. Until sqlx kept the history, the version was PRAGMA user_version.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('schema', '1');
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
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
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    ended_ms INTEGER,
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
    job_id INTEGER PRIMARY KEY REFERENCES jobs (id),
    app TEXT NOT NULL,
    tag TEXT NOT NULL,
    image TEXT,
    requester_id TEXT NOT NULL,
    requester TEXT NOT NULL,
    policy TEXT NOT NULL,
    requested_ms INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_ms INTEGER
);
CREATE TABLE votes (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (job_id, user_id)
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    at_ms INTEGER NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_job ON audit (job_id, id);
PRAGMA user_version = 1;
