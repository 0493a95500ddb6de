-- Agent runtime: one row per capability request, the agent's steps and tool calls,
-- token spend by day and model, budget reservations, model outcomes for the router,
-- and the answer cache. Times are UTC; budget days and months are UTC days and months.

CREATE TABLE agent_runs (
    run_id          uuid PRIMARY KEY,
    capability      text NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_ms     double precision NOT NULL,
    input_hash      text NOT NULL,
    data_version    text NOT NULL DEFAULT '',
    generated_by    text NOT NULL,
    fallback_reason text,
    cacheable       boolean NOT NULL DEFAULT false,
    cached          boolean NOT NULL DEFAULT false,
    groundedness    double precision,
    input_tokens    integer NOT NULL DEFAULT 0,
    output_tokens   integer NOT NULL DEFAULT 0,
    cost_usd        double precision NOT NULL DEFAULT 0
);
CREATE INDEX agent_runs_started_idx ON agent_runs (started_at);
CREATE INDEX agent_runs_capability_idx ON agent_runs (capability, started_at);

-- attempt 0 is evidence gathering by the capability itself; 1.. are model attempts
CREATE TABLE agent_steps (
    run_id        uuid NOT NULL,
    attempt       integer NOT NULL,
    step_number   integer NOT NULL,
    model         text NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   double precision NOT NULL,
    input_tokens  integer NOT NULL DEFAULT 0,
    output_tokens integer NOT NULL DEFAULT 0,
    error         text,
    is_final      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, attempt, step_number)
);

CREATE TABLE agent_tool_calls (
    id          bigserial PRIMARY KEY,
    run_id      uuid NOT NULL,
    attempt     integer NOT NULL,
    tool        text NOT NULL,
    arguments   jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at  timestamptz NOT NULL,
    duration_ms double precision NOT NULL,
    ok          boolean NOT NULL,
    error       text
);
CREATE INDEX agent_tool_calls_run_idx ON agent_tool_calls (run_id);

CREATE TABLE llm_spend (
    day           date NOT NULL,
    model         text NOT NULL,
    calls         integer NOT NULL DEFAULT 0,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cost_usd      double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (day, model)
);

-- what a request in flight may still spend; counted against the caps until released
CREATE TABLE llm_reservations (
    run_id     uuid PRIMARY KEY,
    tokens     bigint NOT NULL,
    cost_usd   double precision NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE TABLE llm_outcomes (
    id           bigserial PRIMARY KEY,
    capability   text NOT NULL,
    model        text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    success      boolean NOT NULL,
    groundedness double precision,
    latency_ms   double precision NOT NULL,
    cost_usd     double precision NOT NULL DEFAULT 0,
    reason       text
);
CREATE INDEX llm_outcomes_profile_idx ON llm_outcomes (capability, model, at);

CREATE TABLE answer_cache (
    capability   text NOT NULL,
    input_hash   text NOT NULL,
    data_version text NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (capability, input_hash, data_version)
);
CREATE INDEX answer_cache_expiry_idx ON answer_cache (expires_at);
