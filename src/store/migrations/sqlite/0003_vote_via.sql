-- How each vote was given: a vote given by reacting is taken back by removing the
-- reaction, even while releasebot was away. Older votes read as not by reaction.
ALTER TABLE votes ADD COLUMN via TEXT;
UPDATE meta SET value = '3' WHERE key = 'schema';
PRAGMA user_version = 3;
