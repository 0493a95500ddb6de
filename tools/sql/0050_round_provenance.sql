-- Where a stored round came from and whether it replays from its seed.
-- first_observed_tick: NULL or 0 when the round was observed from its start; > 0 when the
-- recording began mid-round (left-truncated: the hazard fit counts the round in the risk
-- set from that tick on, not from tick 0).
-- hash_ok / replay_ok / verification: the provably-fair verdict (NULL: not verified, e.g.
-- no revealed seed); verification holds the detail (max_abs_diff, replayed rug tick, ...).
ALTER TABLE games
    ADD COLUMN IF NOT EXISTS game_version        text,
    ADD COLUMN IF NOT EXISTS first_observed_tick integer CHECK (first_observed_tick >= 0),
    ADD COLUMN IF NOT EXISTS source_format       text,
    ADD COLUMN IF NOT EXISTS hash_ok             boolean,
    ADD COLUMN IF NOT EXISTS replay_ok           boolean,
    ADD COLUMN IF NOT EXISTS verification        jsonb,
    ADD COLUMN IF NOT EXISTS verified_at         timestamptz;
CREATE INDEX IF NOT EXISTS games_unverified_idx ON games (ended_at)
    WHERE server_seed IS NOT NULL AND verified_at IS NULL;
