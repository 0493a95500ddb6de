-- Raw payloads (2-5 kB with the leaderboard) are compressed by TOAST: lz4 costs a
-- fraction of the default pglz's CPU on every insert. Servers built without lz4 (or
-- before PostgreSQL 14) keep the default.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE websocket_events ALTER COLUMN payload SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'payload compression left at the default (%)', SQLERRM;
END
$$;
