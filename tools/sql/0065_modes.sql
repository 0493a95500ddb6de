-- Game modes declared by users (`agent-service import --mode NEW --base MODE`), so that
-- every process (web workers, job workers, the CLI) knows them. `rules` holds the whole
-- GameRules of the mode as JSON (a snapshot of the base's rules when it was declared):
-- a declared mode never changes, so processes may cache it. Packaged modes and the
-- files of AGENT_MODES_DIR are not stored here.
CREATE TABLE IF NOT EXISTS modes (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
    base        text NOT NULL,
    description text NOT NULL DEFAULT '',
    rules       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
