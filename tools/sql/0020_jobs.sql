-- Durable jobs. The row is the truth about a job; a queue message only says "look at
-- job <id>", so redelivered or duplicated messages cannot run a job twice: a worker
-- runs a job only after a conditional UPDATE gives it the lease.
CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.:-]{0,99}$'),
    payload jsonb NOT NULL,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    progress double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    message text,
    result jsonb,
    error text,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    worker_id text,
    lease_expires_at timestamptz,
    idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    enqueued_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (attempts <= max_attempts),
    CHECK ((state = 'running') = (lease_expires_at IS NOT NULL))
);

CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (kind, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- the sweeper's scan: only unfinished jobs are indexed
CREATE INDEX jobs_unfinished ON jobs (state, lease_expires_at, enqueued_at)
    WHERE state IN ('queued', 'running');

-- One row per attempt: who ran it and how it ended ('lost' = its worker stopped
-- heartbeating and another took over; 'released' = given back on shutdown).
CREATE TABLE job_attempts (
    id bigserial PRIMARY KEY,
    job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    worker_id text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome text CHECK (outcome IN ('succeeded', 'failed', 'lost', 'released')),
    error text
);
CREATE INDEX job_attempts_job ON job_attempts (job_id, attempt);
