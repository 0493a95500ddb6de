-- Regime-level advice for the hybrid policy, one current row per mode, written by the
-- `hybrid.advice` job (out of band) and read into memory by the web workers.
CREATE TABLE IF NOT EXISTS hybrid_advice (
    mode        text        PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    advice      jsonb       NOT NULL
);
