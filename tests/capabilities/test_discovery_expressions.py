"""The candidate-feature language: parsing with clear errors, numpy evaluation per round."""

from __future__ import annotations

import numpy as np
import pytest

from capabilities.discovery.expressions import ExpressionError, evaluate, parse

NAN = np.nan
PRICE = np.array([[1.0, 3, 2, 5, 4, NAN, NAN], [2, 1, 0, 1, 2, 3, 4]])
SERIES = {"price": PRICE, "tick": np.broadcast_to(np.arange(7.0), PRICE.shape)}


def run(text: str) -> list:
    return np.round(evaluate(parse(text, set(SERIES)), SERIES), 3).tolist()


def same(a: list, b: list) -> bool:
    return np.allclose(np.array(a, float), np.array(b, float), equal_nan=True)


def test_windows_look_back_within_each_round_only():
    assert same(run("lag(price, 1)")[1], [NAN, 2, 1, 0, 1, 2, 3])
    assert same(run("mean(price, 2)")[0][:5], [NAN, 2, 2.5, 3.5, 4.5])
    assert same(run("wmax(price, 3)")[1], [NAN, NAN, 2, 1, 2, 3, 4])
    assert same(run("wmin(price, 2)")[0][:5], [NAN, 1, 2, 2, 4])
    assert same(run("std(price, 3)")[1][2:4], [0.816, 0.471])


def test_running_peak_and_ticks_since_it():
    assert same(run("cummax(price)")[0][:5], [1, 3, 3, 5, 5])
    assert same(run("since_max(price)")[1], [0, 1, 2, 3, 0, 0, 0])


def test_arithmetic_precedence_and_invalid_values_become_nan():
    assert same(run("-price * 2 + 1")[1][:3], [-3, -1, 1])
    assert same(run("log(price)")[1][1:3], [0, NAN])
    assert same(run("price / lag(price, 1) - 1")[1][2:4], [-1, NAN])  # division by 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("price; DROP TABLE games", "unexpected character ';'"),
        ("__import__(price)", "unknown function '__import__'"),
        ("open", "unknown name 'open'"),
        ("mean(price, 2.5)", "window of mean"),
        ("lag(price, tick)", "needs an integer window"),
        ("lag(price, 500)", "window of lag"),
        ("price +", "unexpected end"),
        ("log(price, 2)", "takes 1 argument"),
        ("", "empty expression"),
        ("price" + " + price" * 60, "longer than"),
    ],
)
def test_bad_expressions_are_refused_with_a_reason(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse(text, set(SERIES))


def test_complexity_is_bounded():
    with pytest.raises(ExpressionError, match="too complex"):
        parse("+".join(["price"] * 30), set(SERIES))
