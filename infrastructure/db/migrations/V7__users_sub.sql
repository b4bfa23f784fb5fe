-- A user row belongs to one identity: the Cognito user pool's `sub` of the person who created it
-- (POST /users). NULL for users created before sign-in existed (nobody can reach them through the API).
-- The column is added INSTANT like V4–V6; the unique index is built online (no write lock).
SET SESSION lock_wait_timeout = 10;
ALTER TABLE users ADD COLUMN sub VARCHAR(64) NULL, ALGORITHM=INSTANT;
ALTER TABLE users ADD CONSTRAINT uq_users_sub UNIQUE (sub), ALGORITHM=INPLACE, LOCK=NONE;
