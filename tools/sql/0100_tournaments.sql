-- Tournaments (`POST /v1/tournaments`): a tournament has the id of its job; its rounds are
-- played in chunks (rows below) by the tournament job and by chunk jobs on any worker,
-- merged in round order as they finish. `result` is the latest merged summary.
CREATE TABLE IF NOT EXISTS tournaments (
    id         uuid        PRIMARY KEY,
    mode       text        NOT NULL,
    spec       jsonb       NOT NULL,
    result     jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tournaments_created ON tournaments (created_at DESC);

-- One chunk of rounds: pending -> running (claimed by a worker) -> done, or cancelled once
-- every pair is decided. `outcome` is an .npz of every entrant's per-round PnL, bets, wins.
CREATE TABLE IF NOT EXISTS tournament_chunks (
    tournament_id uuid        NOT NULL REFERENCES tournaments (id) ON DELETE CASCADE,
    chunk         integer     NOT NULL CHECK (chunk >= 0),
    first_round   bigint      NOT NULL CHECK (first_round >= 0),
    n_rounds      integer     NOT NULL CHECK (n_rounds > 0),
    state         text        NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'done', 'cancelled')),
    worker        text,
    claimed_at    timestamptz,
    seconds       double precision,
    outcome       bytea,
    PRIMARY KEY (tournament_id, chunk)
);
