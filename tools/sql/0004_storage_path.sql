-- Storage path. With TimescaleDB: websocket_events, ticks and trades become hypertables
-- and their natural keys include the time column (a hypertable's unique indexes must);
-- tools/ingest.py also checks the key without time before inserting, under a lock, so
-- the same event stored twice is stored once on both paths. Without TimescaleDB: the
-- natural keys alone are unique, and BRIN indexes serve time ranges.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE $q$SELECT create_hypertable('websocket_events', 'time',
            chunk_time_interval => INTERVAL '1 day', if_not_exists => true,
            migrate_data => true)$q$;
        EXECUTE $q$SELECT create_hypertable('ticks', 'time',
            chunk_time_interval => INTERVAL '1 day', if_not_exists => true,
            migrate_data => true)$q$;
        EXECUTE $q$SELECT create_hypertable('trades', 'time',
            chunk_time_interval => INTERVAL '7 days', if_not_exists => true,
            migrate_data => true)$q$;
        CREATE UNIQUE INDEX IF NOT EXISTS websocket_events_key
            ON websocket_events (event_key, time);
        CREATE UNIQUE INDEX IF NOT EXISTS ticks_key ON ticks (game_id, tick, time);
        CREATE UNIQUE INDEX IF NOT EXISTS trades_key ON trades (trade_id, time);
    ELSE
        CREATE UNIQUE INDEX IF NOT EXISTS websocket_events_key ON websocket_events (event_key);
        CREATE UNIQUE INDEX IF NOT EXISTS ticks_key ON ticks (game_id, tick);
        CREATE UNIQUE INDEX IF NOT EXISTS trades_key ON trades (trade_id);
        CREATE INDEX IF NOT EXISTS websocket_events_time_brin
            ON websocket_events USING brin (time);
        CREATE INDEX IF NOT EXISTS ticks_time_brin ON ticks USING brin (time);
        CREATE INDEX IF NOT EXISTS trades_time_brin ON trades USING brin (time);
    END IF;
END
$$;
