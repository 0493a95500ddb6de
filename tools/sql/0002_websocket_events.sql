-- Raw protocol events, compatible with the bot's table
-- websocket_events(time, event_type, game_id, payload jsonb, source): when that table
-- already exists (the bot's database), only the columns we add are added.
CREATE TABLE IF NOT EXISTS websocket_events (
    time        timestamptz NOT NULL,
    event_type  text        NOT NULL,
    game_id     text,
    payload     jsonb,
    source      text
);
-- natural key: a hash of the event name, its own timestamp when it has one, and the
-- canonical payload (see tools/ingest.py), so a redelivered message is stored once
ALTER TABLE websocket_events ADD COLUMN IF NOT EXISTS event_key text;
CREATE INDEX IF NOT EXISTS websocket_events_game_idx ON websocket_events (game_id, time);
CREATE INDEX IF NOT EXISTS websocket_events_type_idx ON websocket_events (event_type, time);
