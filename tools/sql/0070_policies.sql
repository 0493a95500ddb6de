-- Trained policies: the stable-baselines3 zip (to resume training) and a numpy export of
-- its network (`game.policy_net`, an .npz without pickles) that web and tournament
-- workers load without torch. Built-in baselines (`baseline:<mode>`) are package files,
-- not rows. `run_id` names the training run that made the policy, when one did.
CREATE TABLE IF NOT EXISTS policies (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    env        text        NOT NULL,
    mode       text        NOT NULL,
    algorithm  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    run_id     uuid,
    facts      jsonb       NOT NULL DEFAULT '{}',
    scores     jsonb       NOT NULL DEFAULT '{}',
    model_zip  bytea       NOT NULL,
    network    bytea       NOT NULL
);
CREATE INDEX IF NOT EXISTS policies_created ON policies (created_at DESC);
CREATE INDEX IF NOT EXISTS policies_run ON policies (run_id) WHERE run_id IS NOT NULL;
