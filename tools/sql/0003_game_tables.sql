-- Normalized game data derived from the events. No foreign keys: events arrive in any
-- order (a trade may precede its game's first update) and hypertables cannot be
-- referenced. Unique keys on the time-series tables are created by 0004, per storage path.
CREATE TABLE IF NOT EXISTS games (
    game_id           text PRIMARY KEY,
    mode              text NOT NULL DEFAULT 'classic',
    started_at        timestamptz,
    ended_at          timestamptz,
    rug_tick          integer CHECK (rug_tick >= 0),
    peak_multiplier   double precision,
    final_price       double precision,
    server_seed       text,
    server_seed_hash  text,
    tick_count        integer,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS games_ended_idx ON games (ended_at);
CREATE INDEX IF NOT EXISTS games_mode_idx ON games (mode, ended_at);

CREATE TABLE IF NOT EXISTS ticks (
    game_id  text             NOT NULL,
    tick     integer          NOT NULL CHECK (tick >= 0),
    time     timestamptz      NOT NULL,
    price    double precision NOT NULL
);

CREATE TABLE IF NOT EXISTS trades (
    trade_id   text        NOT NULL,
    game_id    text        NOT NULL,
    tick       integer,
    time       timestamptz NOT NULL,
    player_id  text,
    username   text,
    type       text        NOT NULL
               CHECK (type IN ('buy', 'sell', 'short_open', 'short_close')),
    amount     double precision,
    qty        double precision,
    price      double precision,
    leverage   integer
);
CREATE INDEX IF NOT EXISTS trades_game_idx ON trades (game_id, tick);
CREATE INDEX IF NOT EXISTS trades_player_idx ON trades (player_id, time);

CREATE TABLE IF NOT EXISTS sidebets (
    game_id        text    NOT NULL,
    player_id      text    NOT NULL,
    start_tick     integer NOT NULL,
    end_tick       integer,
    amount         double precision,
    payout_factor  double precision,
    outcome        text    NOT NULL DEFAULT 'open' CHECK (outcome IN ('open', 'won', 'lost')),
    payout         double precision,
    time           timestamptz NOT NULL,
    PRIMARY KEY (game_id, player_id, start_tick)
);
CREATE INDEX IF NOT EXISTS sidebets_player_idx ON sidebets (player_id, time);
CREATE INDEX IF NOT EXISTS sidebets_time_brin ON sidebets USING brin (time);

CREATE TABLE IF NOT EXISTS players (
    player_id   text PRIMARY KEY,
    username    text,
    level       integer,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS players_username_idx ON players (username);
