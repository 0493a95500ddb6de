-- The (player, round) pairs `opponent_live.rounds` has counted: a round counts once per
-- player whatever the batching, the order or concurrent writers (the primary key decides;
-- migration 0080 compared with the player's last round, which interleaved batches fooled).
CREATE TABLE IF NOT EXISTS opponent_live_rounds (
    player_id text NOT NULL,
    game_id   text NOT NULL,
    PRIMARY KEY (player_id, game_id)
);

INSERT INTO opponent_live_rounds (player_id, game_id)
SELECT DISTINCT player_id, game_id FROM trades WHERE player_id IS NOT NULL
ON CONFLICT DO NOTHING;

UPDATE opponent_live l SET rounds = r.n
FROM (SELECT player_id, count(*) AS n FROM opponent_live_rounds GROUP BY player_id) r
WHERE r.player_id = l.player_id AND l.rounds <> r.n;
