-- Per-minute game statistics: games ended in the minute (their mean rug tick and peak)
-- and trades made in it. With TimescaleDB the heavy side, trades per minute, is a
-- continuous aggregate (real-time: it includes rows not yet materialized); games hold
-- one row per round and are grouped on the fly. Without it, both sides use date_bin.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE $q$
            CREATE MATERIALIZED VIEW IF NOT EXISTS trades_minute
            WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
            SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, count(*) AS trades
            FROM trades GROUP BY 1
            WITH NO DATA$q$;
        EXECUTE $q$SELECT add_continuous_aggregate_policy('trades_minute',
            start_offset => NULL, end_offset => INTERVAL '1 minute',
            schedule_interval => INTERVAL '1 minute', if_not_exists => true)$q$;
        EXECUTE $q$
            CREATE OR REPLACE VIEW game_stats_minute AS
            SELECT bucket,
                   sum(games)::bigint AS games,
                   avg(rug_tick)::double precision AS mean_rug_tick,
                   avg(peak_multiplier) AS mean_peak,
                   sum(trades)::bigint AS trades
            FROM (
                SELECT time_bucket(INTERVAL '1 minute', ended_at) AS bucket, 1 AS games,
                       rug_tick, peak_multiplier, 0 AS trades
                FROM games WHERE ended_at IS NOT NULL
                UNION ALL
                SELECT bucket, 0, NULL, NULL, trades FROM trades_minute
            ) per_source
            GROUP BY bucket$q$;
    ELSE
        CREATE OR REPLACE VIEW game_stats_minute AS
        SELECT bucket,
               sum(games)::bigint AS games,
               avg(rug_tick)::double precision AS mean_rug_tick,
               avg(peak_multiplier) AS mean_peak,
               sum(trades)::bigint AS trades
        FROM (
            SELECT date_bin(INTERVAL '1 minute', ended_at, TIMESTAMPTZ '2000-01-01') AS bucket,
                   1 AS games, rug_tick, peak_multiplier, 0 AS trades
            FROM games WHERE ended_at IS NOT NULL
            UNION ALL
            SELECT date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '2000-01-01'), 0, NULL,
                   NULL, 1
            FROM trades
        ) per_source
        GROUP BY bucket;
    END IF;
END
$$;
