-- TimescaleDB when the server has it: create the extension if this role may, else carry
-- on with plain PostgreSQL. Later migrations branch on pg_extension, not on this file.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN OTHERS THEN
            -- not preloaded, or not permitted: the plain path works without it
            RAISE NOTICE 'timescaledb not created (%): using plain PostgreSQL', SQLERRM;
        END;
    END IF;
END
$$;
