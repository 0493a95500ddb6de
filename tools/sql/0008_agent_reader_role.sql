-- The read-only role the agents' SQL tool switches to (SET LOCAL ROLE agent_reader).
-- It cannot log in and can only SELECT the allow-listed tables and views. Roles belong
-- to the whole cluster: the role is created only when the migrating user may create
-- roles (superuser or CREATEROLE) and does not exist yet; otherwise a NOTICE says what
-- the operator must do, and the SQL tool refuses to run until the role exists and is
-- granted to the service's user. Safe to run in many databases of one cluster at once.
DO $migration$
DECLARE
    may_create boolean;
    is_super boolean;
    allowed text[] := ARRAY['games', 'ticks', 'trades', 'sidebets', 'players',
                            'websocket_events', 'game_stats_minute'];
    relation text;
BEGIN
    SELECT rolsuper OR rolcreaterole, rolsuper INTO may_create, is_super
    FROM pg_roles WHERE rolname = current_user;

    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agent_reader') THEN
        IF NOT may_create THEN
            RAISE NOTICE 'role agent_reader not created: % may not create roles. An operator '
                'must run: CREATE ROLE agent_reader NOLOGIN; GRANT agent_reader TO <service user>; '
                'then re-run the GRANT SELECT statements of migration 0008', current_user;
            RETURN;
        END IF;
        BEGIN
            CREATE ROLE agent_reader NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it a moment ago
        END;
    END IF;

    -- the service's user must be a member to SET ROLE to it (a superuser always may)
    IF NOT is_super AND NOT pg_has_role(current_user, 'agent_reader', 'MEMBER') THEN
        IF may_create THEN
            BEGIN
                EXECUTE format('GRANT agent_reader TO %I', current_user);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- granted concurrently by a migration of another database
            END;
        ELSE
            RAISE NOTICE 'role agent_reader exists but is not granted to %: an operator must '
                'run GRANT agent_reader TO %', current_user, current_user;
        END IF;
    END IF;

    GRANT USAGE ON SCHEMA public TO agent_reader;
    FOREACH relation IN ARRAY allowed LOOP
        IF to_regclass(format('public.%I', relation)) IS NULL THEN
            RAISE NOTICE 'agent_reader: relation public.% does not exist, not granted', relation;
        ELSE
            EXECUTE format('GRANT SELECT ON public.%I TO agent_reader', relation);
        END IF;
    END LOOP;
END
$migration$;
