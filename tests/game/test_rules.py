from __future__ import annotations

import numpy as np
import pytest

from game.rules import GameRules, ModeError, available_modes, load_mode, load_rules_file


def test_packaged_modes_load_and_classic_is_the_documented_model():
    assert {"classic", "rising_hazard", "fast_rug", "profit_payout", "high_volatility"} <= set(
        available_modes()
    )
    for name in available_modes():
        assert load_mode(name).name == name
    classic = load_mode("classic")
    assert classic.rug_prob == 0.005
    assert classic.big_move_prob == 0.125
    assert (classic.big_move_min, classic.big_move_max) == (0.15, 0.25)
    assert (classic.drift_low, classic.drift_high, classic.vol_coef) == (-0.02, 0.03, 0.005)
    assert classic.vol_sqrt_cap == 10.0 and classic.max_ticks == 5000
    assert classic.liquidation == {2: 0.20, 3: 0.10, 4: 0.025, 5: 0.01}
    assert classic.sidebet_profit_multiple == 4.0
    assert load_mode("profit_payout").sidebet_profit_multiple == 5.0
    # classic's window end is chosen so that a sidebet wins with 1 - 0.995^40
    assert classic.sidebet_win_probability(0) == pytest.approx(1 - 0.995**40, rel=1e-12)
    assert classic.sidebet_win_probability(123) == pytest.approx(1 - 0.995**40, rel=1e-12)
    exclusive = classic.model_copy(update={"window_end_inclusive": False})
    assert exclusive.sidebet_win_probability(0) == pytest.approx(1 - 0.995**39, rel=1e-12)


def test_hazard_is_vectorised_and_rises_only_where_configured():
    classic, rising = load_mode("classic"), load_mode("rising_hazard")
    ticks = np.arange(1, 5001)
    assert np.all(classic.hazard(ticks)[:-1] == 0.005)
    assert classic.hazard(5000) == 1.0  # the tick cap ends the round like a rug
    h = rising.hazard(ticks)
    assert isinstance(rising.hazard(10), float)
    assert np.all(h[:200] == 0.005)
    assert np.all(np.diff(h[:-1]) >= 0) and h[300] > h[200]
    assert h[-2] == rising.hazard_cap
    assert rising.survival(0) == 1.0
    assert classic.survival(100) == pytest.approx(0.995**100)


def _first_positive_sidebet_tick(rules: GameRules) -> int | None:
    return next((t for t in range(0, 1000) if rules.sidebet_expected_value(t) > 0), None)


def test_each_variant_changes_the_best_strategy():
    classic = load_mode("classic")
    assert _first_positive_sidebet_tick(classic) is None  # classic: never bet
    assert _first_positive_sidebet_tick(load_mode("profit_payout")) == 0  # always bet
    assert _first_positive_sidebet_tick(load_mode("fast_rug")) == 0
    late = _first_positive_sidebet_tick(load_mode("rising_hazard"))
    assert late is not None and 150 < late < 250  # bet only late

    def hold_ev(rules: GameRules) -> float:
        """Expected growth of a held position over one tick (normal moves carry the drift)."""
        drift = (1 - rules.big_move_prob) * (rules.drift_low + rules.drift_high) / 2
        return (1 - rules.rug_prob) * (1 + drift) - 1

    assert hold_ev(classic) < 0 < hold_ev(load_mode("high_volatility"))
    assert load_mode("high_volatility").vol_sqrt_cap is None


def _write(tmp_path, text):
    path = tmp_path / "mode.toml"
    path.write_text(text)
    return path


def test_bad_value_names_file_line_and_key(tmp_path):
    path = _write(tmp_path, 'extends = "classic"\n\nrug_prob = "often"\n')
    with pytest.raises(ModeError, match=r"mode\.toml:3: key 'rug_prob'"):
        load_rules_file(path)


def test_unknown_key_and_inconsistent_values_are_rejected(tmp_path):
    with pytest.raises(ModeError, match=r"mode\.toml:1: key 'rug_probability'.*[Ee]xtra"):
        load_rules_file(_write(tmp_path, "rug_probability = 0.1\n"))
    with pytest.raises(ModeError, match="big_move_min must not exceed big_move_max"):
        load_rules_file(_write(tmp_path, "big_move_min = 0.5\nbig_move_max = 0.1\n"))
    with pytest.raises(ModeError, match=r"key 'liquidation\.2'"):
        load_rules_file(_write(tmp_path, '[liquidation]\n2 = "a lot"\n'))


def test_syntax_errors_missing_files_and_unknown_modes_are_clear(tmp_path):
    with pytest.raises(ModeError, match=r"mode\.toml: invalid TOML.*line 2"):
        load_rules_file(_write(tmp_path, "rug_prob = 0.1\nthis is not toml\n"))
    with pytest.raises(ModeError, match="cannot read"):
        load_rules_file(tmp_path / "absent.toml")
    with pytest.raises(ModeError, match="unknown mode 'nope'; available: classic"):
        load_mode("nope")
    with pytest.raises(ModeError, match="invalid mode name"):
        load_mode("../etc/passwd")
    with pytest.raises(ModeError, match="key 'extends'"):
        load_rules_file(_write(tmp_path, "extends = 3\n"))


def test_extends_overrides_only_listed_keys(tmp_path):
    rules = load_rules_file(_write(tmp_path, 'extends = "fast_rug"\nsidebet_payout = 6.0\n'))
    assert rules.name == "mode"
    assert rules.rug_prob == 0.02 and rules.sidebet_payout == 6.0
    assert rules.big_move_prob == 0.125


def test_rules_are_frozen():
    with pytest.raises(ValueError):
        load_mode("classic").rug_prob = 0.5  # type: ignore[misc]
