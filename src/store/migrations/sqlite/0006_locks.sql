-- Locks (/lock): a freeze with a holder, the one person whose deploys still go.
ALTER TABLE freezes ADD COLUMN holder_id TEXT;
ALTER TABLE freezes ADD COLUMN holder_name TEXT;
UPDATE meta SET value = '6' WHERE key = 'schema';
PRAGMA user_version = 6;
