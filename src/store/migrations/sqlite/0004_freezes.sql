-- Freezes people put on (/freeze), kept once lifted for the history.
CREATE TABLE freezes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    by_id TEXT NOT NULL,
    by_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    until_ms INTEGER NOT NULL,
    lifted_by_id TEXT,
    lifted_by_name TEXT,
    lifted_ms INTEGER
);
CREATE INDEX freezes_until ON freezes (until_ms);
CREATE INDEX freezes_scope ON freezes (scope, id);
UPDATE meta SET value = '4' WHERE key = 'schema';
PRAGMA user_version = 4;
