-- PPO training runs on the simulator (`POST /v1/training/runs`, `agent-service train`).
-- A run started through the API has the id of its job; the row carries its own state so
-- runs started from the command line (no job) read the same way.
CREATE TABLE IF NOT EXISTS training_runs (
    id          uuid             PRIMARY KEY,
    name        text,
    source      text             NOT NULL CHECK (source IN ('api', 'cli')),
    env         text             NOT NULL,
    mode        text             NOT NULL,
    spec        jsonb            NOT NULL,
    state       text             NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    progress    double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    message     text,
    error       text,
    policy_id   uuid,
    result      jsonb,
    created_at  timestamptz      NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS training_runs_created ON training_runs (created_at DESC);

-- The learning curve: a true-economics evaluation on held-out rounds every N env steps
-- (`game.evaluation.Evaluation` as JSON). A retried attempt starts the curve again.
CREATE TABLE IF NOT EXISTS training_curve (
    run_id     uuid             NOT NULL REFERENCES training_runs (id) ON DELETE CASCADE,
    step       bigint           NOT NULL CHECK (step >= 0),
    seconds    double precision NOT NULL,
    evaluation jsonb            NOT NULL,
    PRIMARY KEY (run_id, step)
);
