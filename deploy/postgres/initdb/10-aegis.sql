-- Run once by the image's entrypoint when the data volume is first created, as the bootstrap
-- superuser (POSTGRES_USER, reachable only on the container's own socket: see pg_hba.conf). The
-- schema itself comes from Alembic, run by the `migrate` service as aegis_owner.
--
-- Two roles, neither a superuser:
--   aegis_owner  owns the database and its schema; runs the migrations (migration_database_url).
--   aegis_app    what the broker and the console connect as (database_url). After every migration
--                the owner grants it row access only (storage/roles.py): not being an owner, it
--                cannot alter, drop or truncate the audit tables, nor drop or disable their triggers.
-- The passwords are read from the Docker secrets, never from argv or the environment.
\set ON_ERROR_STOP on
\if :{?secrets_dir}
\else
\set secrets_dir /run/secrets
\endif
\set owner_pw `cat :secrets_dir/postgres_owner_password`
\set app_pw `cat :secrets_dir/postgres_app_password`

CREATE ROLE aegis_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'owner_pw';
CREATE ROLE aegis_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD :'app_pw';
\unset owner_pw
\unset app_pw

ALTER DATABASE :"DBNAME" OWNER TO aegis_owner;
ALTER SCHEMA public OWNER TO aegis_owner;

-- pgcrypto, as the owner asked, for what it is good at on the server: digests and random bytes
-- (digest(), gen_random_bytes()). Sensitive fields are NOT encrypted with it: that would send the
-- keys to the database server. They are sealed by the application (AES-256-GCM) before they arrive.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Nobody but the owner creates objects; the application's role only connects and uses the schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO aegis_owner;
GRANT CONNECT ON DATABASE :"DBNAME" TO aegis_app;
GRANT USAGE ON SCHEMA public TO aegis_app;
