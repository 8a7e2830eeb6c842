-- Locks (/lock): a freeze with a holder, the one person whose deploys still go.
ALTER TABLE freezes ADD COLUMN holder_id TEXT;
ALTER TABLE freezes ADD COLUMN holder_name TEXT;
UPDATE meta SET value = '3' WHERE key = 'schema';
