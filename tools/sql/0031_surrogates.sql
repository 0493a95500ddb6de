-- Surrogates of bots fitted by the Game Analyst (`POST /v1/analyst/fit`): the tree as
-- JSON arrays (never pickles) and its agreement figures; the latest per bot is used.
CREATE TABLE IF NOT EXISTS surrogates (
    bot_id        text        NOT NULL,
    version       integer     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    feature_names text[]      NOT NULL,
    model         jsonb       NOT NULL,
    PRIMARY KEY (bot_id, version)
);
