-- The hybrid policy's intervention log: one row per decision, written in batches off
-- the request path. A hypertable with TimescaleDB, BRIN on time otherwise. Outcomes are
-- joined from `games` when the round has ended (see capabilities/hybrid/stats.py).
CREATE TABLE IF NOT EXISTS hybrid_decisions (
    time            timestamptz      NOT NULL,
    decision_id     uuid             NOT NULL,
    bot_id          text             NOT NULL,
    mode            text             NOT NULL,
    game_id         text,
    tick            integer          NOT NULL,
    price           double precision NOT NULL,
    stake           double precision NOT NULL,
    input_hash      text             NOT NULL,
    rl_action       text             NOT NULL,
    action          text             NOT NULL,
    source          text             NOT NULL CHECK (source IN ('rl', 'agent')),
    critical        boolean          NOT NULL,
    reason          text             NOT NULL,
    confidence      double precision NOT NULL,
    expected_loss   double precision NOT NULL,
    latency_ms      double precision NOT NULL,
    model_version   text             NOT NULL
);
CREATE INDEX IF NOT EXISTS hybrid_decisions_bot_idx ON hybrid_decisions (bot_id, mode, time);
CREATE INDEX IF NOT EXISTS hybrid_decisions_game_idx ON hybrid_decisions (game_id);
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE $q$SELECT create_hypertable('hybrid_decisions', 'time',
            chunk_time_interval => INTERVAL '1 day', if_not_exists => true,
            migrate_data => true)$q$;
        CREATE UNIQUE INDEX IF NOT EXISTS hybrid_decisions_key
            ON hybrid_decisions (decision_id, time);
    ELSE
        CREATE UNIQUE INDEX IF NOT EXISTS hybrid_decisions_key ON hybrid_decisions (decision_id);
        CREATE INDEX IF NOT EXISTS hybrid_decisions_time_brin
            ON hybrid_decisions USING brin (time);
    END IF;
END
$$;
