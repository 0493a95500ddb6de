-- Opponent modeling (capability 4): fitted player profiles, the fitted models, and the
-- counters the event consumer keeps current between fits.

-- One row per player, replaced by every fit (`opponents.fit`).
CREATE TABLE IF NOT EXISTS opponent_profiles (
    player_id        text             PRIMARY KEY,
    username         text,
    level            integer,
    model_id         uuid             NOT NULL,
    archetype        text             NOT NULL,
    archetype_p      double precision,
    rounds_played    integer          NOT NULL,
    trades           integer          NOT NULL,
    pnl              double precision NOT NULL,
    profile          jsonb            NOT NULL,
    fitted_at        timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS opponent_profiles_archetype ON opponent_profiles (archetype);
CREATE INDEX IF NOT EXISTS opponent_profiles_pnl ON opponent_profiles (pnl DESC, player_id);
CREATE INDEX IF NOT EXISTS opponent_profiles_activity
    ON opponent_profiles (rounds_played DESC, player_id);

-- Fitted models: archetypes and the next-action classifier (pickled by the fit job, read
-- only by this service), with their evaluation on the later rounds.
CREATE TABLE IF NOT EXISTS opponent_models (
    id          uuid        PRIMARY KEY,
    fitted_at   timestamptz NOT NULL DEFAULT now(),
    rounds      integer     NOT NULL,
    players     integer     NOT NULL,
    summary     jsonb       NOT NULL,
    model       bytea       NOT NULL
);
CREATE INDEX IF NOT EXISTS opponent_models_fitted ON opponent_models (fitted_at DESC);

-- Kept by the ingest path as trades arrive (tools/opponent_live.py): cheap counters, no refit.
CREATE TABLE IF NOT EXISTS opponent_live (
    player_id    text             PRIMARY KEY,
    trades       bigint           NOT NULL DEFAULT 0,
    buys         bigint           NOT NULL DEFAULT 0,
    sells        bigint           NOT NULL DEFAULT 0,
    bought       double precision NOT NULL DEFAULT 0,
    sold         double precision NOT NULL DEFAULT 0,
    rounds       bigint           NOT NULL DEFAULT 0,
    last_game_id text,
    last_trade_at timestamptz,
    updated_at   timestamptz      NOT NULL DEFAULT now()
);
