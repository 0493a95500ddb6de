-- Conversations of `POST /v1/chat`: each turn with what routed it, the slots it used
-- (a follow-up inherits them), its answer and what the answer rested on (evidence, one
-- row per item: a tool's output or a model's figures, with the call's duration).
CREATE TABLE IF NOT EXISTS chat_conversations (
    id          uuid        PRIMARY KEY,
    bot_id      text,
    mode        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    turns       integer     NOT NULL DEFAULT 0 CHECK (turns >= 0)
);
CREATE INDEX IF NOT EXISTS chat_conversations_updated ON chat_conversations (updated_at);

CREATE TABLE IF NOT EXISTS chat_turns (
    id              bigserial        PRIMARY KEY,
    conversation_id uuid             NOT NULL REFERENCES chat_conversations (id)
                                     ON DELETE CASCADE,
    turn            integer          NOT NULL CHECK (turn >= 1),
    created_at      timestamptz      NOT NULL DEFAULT now(),
    message         text             NOT NULL,
    answer          text             NOT NULL,
    intent          text,
    capability      text,
    confidence      double precision,
    slots           jsonb            NOT NULL DEFAULT '{}',
    clarification   jsonb,
    generated_by    text             NOT NULL,
    run_id          uuid,
    duration_ms     double precision NOT NULL,
    UNIQUE (conversation_id, turn)
);

CREATE TABLE IF NOT EXISTS chat_evidence (
    turn_id     bigint           NOT NULL REFERENCES chat_turns (id) ON DELETE CASCADE,
    position    integer          NOT NULL,
    source      text             NOT NULL,
    arguments   jsonb,
    duration_ms double precision,
    ok          boolean          NOT NULL DEFAULT true,
    figures     jsonb,
    PRIMARY KEY (turn_id, position)
);
