-- The job's details carry a versioned stored form; the approval remembers the tag that
-- was live when it was asked for.
ALTER TABLE approvals ADD COLUMN from_tag TEXT;
UPDATE meta SET value = '2' WHERE key = 'schema';
PRAGMA user_version = 2;
