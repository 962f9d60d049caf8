-- Run once by the image's entrypoint when the data volume is first created (as the aegis role).
-- The schema itself comes from Alembic (`aegis db upgrade`); this only prepares the database.

-- pgcrypto, as the owner asked, for what it is good at on the server: digests and random bytes
-- (digest(), gen_random_bytes()). Sensitive fields are NOT encrypted with it: that would send the
-- keys to the database server. They are sealed by the application (AES-256-GCM) before they arrive.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Nobody but the owner of the database creates objects in it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE aegis FROM PUBLIC;
