from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict

import numpy as np
import pytest

from game.recording import RecordingOptions, simulate_recording, write_recording
from game.rules import load_mode
from game.simulator import simulate_rounds

CLASSIC = load_mode("classic")
KEYS = ["seq", "ts", "event", "data", "source", "direction"]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rec")
    out, truth = folder / "a.jsonl", folder / "a.truth.json"
    summary = write_recording(CLASSIC, 12, 31, out, truth=truth, n_players=12)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return out, truth, summary, lines


def test_same_seed_gives_byte_identical_files(recording, tmp_path):
    out, truth, _, _ = recording
    again, again_truth = tmp_path / "b.jsonl", tmp_path / "b.json"
    write_recording(CLASSIC, 12, 31, again, truth=again_truth, n_players=12)
    assert out.read_bytes() == again.read_bytes()
    assert truth.read_bytes() == again_truth.read_bytes()
    other = tmp_path / "c.jsonl"
    write_recording(CLASSIC, 12, 32, other, n_players=12)
    assert other.read_bytes() != out.read_bytes()


def test_lines_are_well_formed(recording):
    _, _, summary, lines = recording
    assert len(lines) == summary.events
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert all(list(line) == KEYS and TS.match(line["ts"]) for line in lines)
    assert all(line["source"] == "simulator" and line["direction"] == "received" for line in lines)
    assert [line["ts"] for line in lines] == sorted(line["ts"] for line in lines)
    events = {line["event"] for line in lines}
    assert events == {
        "gameStateUpdate",
        "standard/newTrade",
        "currentSidebet",
        "currentSidebetResult",
    }


def test_ticks_and_rug_sequence_match_the_simulated_rounds(recording):
    _, truth_path, _, lines = recording
    truth = json.loads(truth_path.read_text())
    rounds = simulate_rounds(CLASSIC, 12, seed=31)
    assert list(truth["games"]) == rounds.game_ids
    updates = [(i, x["data"]) for i, x in enumerate(lines) if x["event"] == "gameStateUpdate"]
    for r, game in enumerate(rounds.game_ids):
        prices, rug = rounds.round(r)
        assert truth["games"][game]["rug_tick"] == rug
        ticks = [d for _, d in updates if d["gameId"] == game and d["active"] and not d["rugged"]]
        assert [d["tickCount"] for d in ticks] == list(range(rug))
        assert [d["price"] for d in ticks] == prices.tolist()
        hashes = {d["provablyFair"]["serverSeedHash"] for _, d in updates if d["gameId"] == game}
        (k,) = [k for k, (_, d) in enumerate(updates) if d["gameId"] == game and d["rugged"]]
        reveal, following = updates[k][1], updates[k + 1][1]
        assert updates[k + 1][0] > updates[k][0]
        assert reveal["active"] is True and reveal["tickCount"] == rug
        assert reveal["price"] == CLASSIC.rug_price
        # a SplitMix chart is not played from a seed: none is revealed, one hash committed
        assert len(hashes) == 1 and reveal["provablyFair"]["serverSeedHash"] in hashes
        assert not any("serverSeed" in d["provablyFair"] for _, d in updates if d["gameId"] == game)
        assert truth["games"][game]["server_seed"] is None
        history = reveal["gameHistory"][0]
        assert history["provablyFair"] == {
            "serverSeedHash": reveal["provablyFair"]["serverSeedHash"]
        }
        assert history["id"] == game and history["prices"] == [*prices.tolist(), CLASSIC.rug_price]
        assert history["peakMultiplier"] == prices.max()
        assert following["active"] is False and following["gameId"] != game
        assert following["gameHistory"] == reveal["gameHistory"]
        if r + 1 < len(rounds):
            assert following["gameId"] == rounds.game_ids[r + 1]


def test_trades_and_sidebets_are_in_the_stream(recording):
    _, truth_path, summary, lines = recording
    truth = json.loads(truth_path.read_text())["games"]
    trades, placed, results = defaultdict(list), {}, {}
    for line in lines:
        d = line["data"]
        if line["event"] == "standard/newTrade":
            trades[d["gameId"]].append(d)
        elif line["event"] == "currentSidebet":
            placed[d["id"]] = d
        elif line["event"] == "currentSidebetResult":
            results[d["id"]] = d
    assert sum(map(len, trades.values())) == summary.trades > 0
    assert placed.keys() == results.keys() and len(placed) == summary.sidebets > 0
    for game, facts in truth.items():
        mine = trades[game]
        assert len(mine) == facts["trades"]
        rugged = [t for t in mine if t["tickIndex"] == facts["rug_tick"]]
        assert len(rugged) == facts["forced_sells"]
        assert all(t["type"] == "sell" and t["price"] == CLASSIC.rug_price for t in rugged)
        assert {t["playerId"] for t in mine} <= set(facts["players"])
        assert all(t["tickIndex"] <= facts["rug_tick"] for t in mine)
    for bet_id, result in results.items():
        rug = truth[result["gameId"]]["rug_tick"]
        assert result["won"] == (rug <= placed[bet_id]["startTick"] + 40)
        assert result["payout"] == (5 * result["betAmount"] if result["won"] else 0)


def test_leaderboard_is_top_ten_by_pnl(recording):
    *_, lines = recording
    boards = [x["data"]["leaderboard"] for x in lines if x["event"] == "gameStateUpdate"]
    assert max(len(b) for b in boards) == 10
    fields = {"id", "username", "level", "pnl", "pnlPercent", "positionQty", "avgCost",
              "totalInvested", "sidebetActive", "sideBet", "shortPosition", "position"}  # fmt: skip
    for board in boards:
        pnl = [e["pnl"] for e in board]
        assert pnl == sorted(pnl, reverse=True)
        assert all(fields <= set(e) for e in board)
        assert [e["position"] for e in board] == list(range(1, len(board) + 1))
    with_bet = [e for b in boards for e in b if e["sidebetActive"]]
    assert with_bet and all(
        e["sideBet"]["end"] - e["sideBet"]["startedAtTick"] == 40 for e in with_bet
    )


def test_the_writer_streams_rounds_lazily():
    rounds = simulate_recording(CLASSIC, 10**9, seed=1, n_players=5)
    first = next(rounds)
    assert first.events and first.truth["rug_tick"] >= 1


def test_trace_preamble_option(tmp_path):
    out = tmp_path / "t.jsonl"
    write_recording(CLASSIC, 2, 3, out, n_players=4, options=RecordingOptions(trace_every=5))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    traced = [x for x in lines if isinstance(x["data"], list)]
    assert len(traced) == len(lines) // 5
    assert all(x["data"][0]["__trace"] is True and "traceparent" in x["data"][0] for x in traced)
    assert np.all([isinstance(x["data"][1], dict) for x in traced])


@pytest.mark.parametrize("mode", ["fast_rug", "high_volatility", "profit_payout"])
def test_every_mode_records_valid_json(tmp_path, mode):
    out = tmp_path / "m.jsonl"
    summary = write_recording(load_mode(mode), 4, 2, out, n_players=9)
    lines = out.read_text().splitlines()
    assert len(lines) == summary.events and all(json.loads(line)["data"] for line in lines)


def test_lines_can_go_to_a_callback_without_a_file(recording):
    out, *_ = recording
    lines, progress = [], []
    summary = write_recording(
        CLASSIC, 12, 31, None, n_players=12,
        on_line=lambda line, ts: lines.append(line), on_round=lambda s: progress.append(s.games),
    )  # fmt: skip
    assert lines == out.read_text().splitlines() and summary.events == len(lines)
    assert progress == list(range(1, 13))


def test_seedrandom_rounds_reveal_seeds_that_replay_to_their_ticks(tmp_path):
    from game.fairness.engine import replay

    out, truth_path = tmp_path / "fair.jsonl", tmp_path / "fair.truth.json"
    options = RecordingOptions(prng="seedrandom", leaderboard_size=0)
    write_recording(CLASSIC, 6, 8, out, truth=truth_path, n_players=5, options=options)
    truth = json.loads(truth_path.read_text())["games"]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    updates = [x["data"] for x in lines if x["event"] == "gameStateUpdate"]
    for game, facts in truth.items():
        ticks = [d for d in updates if d["gameId"] == game and d["active"] and not d["rugged"]]
        (reveal,) = [d for d in updates if d["gameId"] == game and d["rugged"]]
        fair = reveal["provablyFair"]
        assert fair["serverSeed"] == facts["server_seed"] and fair["version"] == "v3"
        assert hashlib.sha256(fair["serverSeed"].encode()).hexdigest() == fair["serverSeedHash"]
        assert {d["provablyFair"]["serverSeedHash"] for d in ticks} == {fair["serverSeedHash"]}
        played = replay(fair["serverSeed"], game, "v3")
        assert [d["price"] for d in ticks] == played.prices
        assert played.rug_tick == facts["rug_tick"] == reveal["tickCount"]
        history = reveal["gameHistory"][0]
        assert history["provablyFair"]["serverSeed"] == fair["serverSeed"]
        assert history["gameVersion"] == "v3"


def test_ids_of_another_mode_differ_and_its_seeds_still_replay():
    from game.fairness.engine import replay

    options = RecordingOptions(prng="seedrandom", leaderboard_size=0)
    classic = list(simulate_recording(CLASSIC, 4, 8, n_players=5, options=options))
    other = list(simulate_recording(load_mode("profit_payout"), 4, 8, n_players=5, options=options))
    # classic ids, trade ids included, are those made before ids named their mode
    trade = next(e.data for e in classic[0].events if e.event == "standard/newTrade")
    assert classic[0].game_id == "20260101-55b703653134a43e"
    assert trade["id"] == "b8b4f26d-d698-2c2d-70ff-fb40e37393db"

    def ids(rounds, event):
        return {e.data["id"] for r in rounds for e in r.events if e.event == event}

    assert not {r.game_id for r in classic} & {r.game_id for r in other}
    assert not ids(classic, "standard/newTrade") & ids(other, "standard/newTrade")
    assert not ids(classic, "currentSidebet") & ids(other, "currentSidebet")
    for i, played in enumerate(other):
        updates = [e.data for e in played.events if e.event == "gameStateUpdate"]
        if i + 1 < len(other):  # the next round announced at the rug is the next one
            assert updates[-1]["gameId"] == other[i + 1].game_id
        (reveal,) = [d for d in updates if d["gameId"] == played.game_id and d["rugged"]]
        seed = reveal["provablyFair"]["serverSeed"]
        assert replay(seed, played.game_id, "v3").rug_tick == played.truth["rug_tick"]


def test_seedrandom_refuses_a_mode_no_engine_plays():
    with pytest.raises(ValueError, match="fast_rug"):
        next(
            simulate_recording(
                load_mode("fast_rug"), 1, 0, options=RecordingOptions(prng="seedrandom")
            )
        )
