-- The agents' SQL tool logs in as its own role, agent_sql, instead of switching role
-- inside the service's session (0008): a session that switched role can switch back
-- (set_config('role', session_user, true) inside a query did, with a superuser login),
-- while a login that is a member of no role has nothing to switch to. agent_sql can log
-- in, owns nothing, can SELECT the allow-listed tables and nothing else, and carries
-- ceilings of its own (read-only transactions, a statement timeout, work memory, temp
-- files) that hold even if the tool's per-query settings were bypassed.
--
-- Roles belong to the whole cluster: the role is created (without a password: set one
-- with ALTER ROLE agent_sql PASSWORD '...' where the server asks for passwords) only
-- when the migrating user may create roles and it does not exist yet; otherwise a
-- NOTICE says what an operator must run, and the SQL tool stays disabled until the role
-- exists. The role's own settings are written only by the migration that creates it, so
-- migrations of many databases of one cluster can run at once. Grants are per database.
DO $migration$
DECLARE
    may_create boolean;
    allowed text[] := ARRAY['games', 'ticks', 'trades', 'sidebets', 'players',
                            'websocket_events', 'game_stats_minute'];
    relation text;
BEGIN
    SELECT rolsuper OR rolcreaterole INTO may_create
    FROM pg_roles WHERE rolname = current_user;

    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agent_sql') THEN
        IF NOT may_create THEN
            RAISE NOTICE 'role agent_sql not created: % may not create roles. An operator '
                'must run: CREATE ROLE agent_sql LOGIN NOINHERIT PASSWORD ''...''; then re-run '
                'the grants of migration 0090 (see docs/agent_tools.md)', current_user;
            RETURN;
        END IF;
        BEGIN
            CREATE ROLE agent_sql LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
                NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 16;
            ALTER ROLE agent_sql SET default_transaction_read_only = on;
            ALTER ROLE agent_sql SET statement_timeout = '15s';
            ALTER ROLE agent_sql SET idle_in_transaction_session_timeout = '30s';
            ALTER ROLE agent_sql SET work_mem = '16MB';
            ALTER ROLE agent_sql SET temp_file_limit = '256MB';
            ALTER ROLE agent_sql SET search_path = pg_catalog;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it a moment ago
        END;
    END IF;

    EXECUTE format('GRANT CONNECT ON DATABASE %I TO agent_sql', current_database());
    GRANT USAGE ON SCHEMA public TO agent_sql;
    FOREACH relation IN ARRAY allowed LOOP
        IF to_regclass(format('public.%I', relation)) IS NULL THEN
            RAISE NOTICE 'agent_sql: relation public.% does not exist, not granted', relation;
        ELSE
            EXECUTE format('GRANT SELECT ON public.%I TO agent_sql', relation);
        END IF;
    END LOOP;
END
$migration$;
