"""Strategy Coach (capability 1): `POST /v1/coach/strategy`. The expected value and risk
of each action from the mode's game models (`capability`), answered with knowledge
passages; request and answer shapes in `models`."""
