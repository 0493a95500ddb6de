"""Plain questions as users phrase them, none of them an intent's example, with the
intent each must reach; `AMBIGUOUS` ones may instead get a clarifying question (and must
not be routed to an intent outside their listed ones). Used by the routing test and by
bench/chat_routing.py."""

from __future__ import annotations

GID = "20250312-9f1c2ab47d3e8c01"
RUN = "3b9d6f2e-4c1a-4e8b-9a7d-2f6e1c0b5a93"

PHRASINGS: list[tuple[str, str]] = [
    # coach
    ("I'm at 2.4x on tick 175, should I dump?", "coach.sell_now"),
    ("take profits at 1.8x at tick 95 or keep riding?", "coach.sell_now"),
    ("time to get out at 3x?", "coach.sell_now"),
    ("sell or hold at 1.3x, tick 60", "coach.sell_now"),
    ("worth placing a side bet at tick 210?", "coach.bet_now"),
    ("what's the best move at tick 45", "coach.bet_now"),
    ("should i go in now, tick 15", "coach.bet_now"),
    # models
    ("what's the probability of a rug next tick", "models.rug_chance"),
    ("rug odds per tick in classic", "models.rug_chance"),
    ("how likely is it to rug before tick 400", "models.rug_chance"),
    ("what is the chance of a rug per tick at tick 300?", "models.rug_chance"),
    ("how much does the price swing per tick", "models.price"),
    ("what's the volatility at 5x", "models.price"),
    # data
    ("how many games today?", "data.round_count"),
    ("how many rounds have been recorded in the past 3 days", "data.round_count"),
    ("rounds recorded since yesterday?", "data.round_count"),
    ("what's the mean rug tick over the last 1000 rounds", "data.round_stats"),
    ("how often do rounds hit 2x", "data.round_stats"),
    ("give me stats on recent rounds", "data.round_stats"),
    (f"what happened in {GID}", "data.round"),
    (f"how did round {GID} go", "data.round"),
    ("who is player CryptoKing?", "data.player"),
    ("tell me about user moonboy", "data.player"),
    ("what's the win rate of side bets", "data.sidebets"),
    ("do sidebets pay off", "data.sidebets"),
    # fairness
    (f"is round {GID} fair?", "fairness.verify"),
    (f"was {GID} manipulated?", "fairness.verify"),
    (f"verify the seed for game {GID}", "fairness.verify"),
    ("is this game provably fair", "fairness.verify"),
    # knowledge
    ("how do sidebets pay out", "knowledge.search"),
    ("what are the game rules", "knowledge.search"),
    ("what fields does the trade event have", "knowledge.search"),
    ("how is the RL reward computed", "knowledge.search"),
    # discovery
    ("what predicts a rug", "discovery.predictors"),
    ("are there early signs that a round will rug", "discovery.predictors"),
    ("which signals predict the next price move", "discovery.predictors"),
    # analyst
    ("was it smart to sell at tick 140 at 1.6x", "analyst.explain"),
    ("how bad was holding at tick 220", "analyst.explain"),
    (f"why did my bot bet in round {GID}?", "analyst.why"),
    ("why did my bot place that sidebet", "analyst.why"),
    ("why did my bot lose?", "analyst.why"),
    (f"why did bot ppo-v3 lose in {GID}", "analyst.why"),
    ("what went wrong with my bot last round", "analyst.why"),
    ("what features does my bot pay attention to", "analyst.surrogate"),
    # hybrid
    ("would the hybrid let my bot bet at tick 120", "hybrid.decide"),
    ("does the hybrid override a bet at tick 15", "hybrid.decide"),
    ("how did ppo-v3 do today?", "hybrid.stats"),
    ("how is bot ppo-v3 performing this week", "hybrid.stats"),
    ("how many overrides did the hybrid make today", "hybrid.stats"),
    # training
    (f"how is training run {RUN} going?", "training.run_status"),
    ("is my training done yet", "training.run_status"),
    ("show me the training runs", "training.runs"),
    ("compare my bot with the oracle", "training.compare_oracle"),
    ("how close is my policy to the oracle", "training.compare_oracle"),
    ("what should I train on next", "curriculum.next"),
    ("suggest a curriculum", "curriculum.next"),
    # system
    (f"status of job {RUN}", "jobs.status"),
    ("any jobs still running?", "jobs.status"),
    ("which LLM is configured", "models.llm_status"),
    ("what can I ask you", "system.help"),
    # planned capabilities
    ("predict what player whale42 does next", "opponents.ask"),
    ("run a tournament of my bot variants", "tournaments.ask"),
    ("adapt my policy from classic to fast rug", "meta.ask"),
    ("review my reward function", "rewards.ask"),
]

# a second set, written after the intents' examples (a check of how routing generalizes)
GID2 = "20250401-aaaabbbbccccdddd"
PHRASINGS += [
    ("should I cash out at 2.1x, we're at tick 140", "coach.sell_now"),
    ("I hold at 1.6x. Sell?", "coach.sell_now"),
    ("is now a good time to sell, 5x at tick 400", "coach.sell_now"),
    ("sidebet now at tick 75?", "coach.bet_now"),
    ("is it worth betting at tick 12", "coach.bet_now"),
    ("what do you recommend at tick 90 price 1.1", "coach.bet_now"),
    ("what are the chances the game rugs in the next 10 ticks", "models.rug_chance"),
    ("rug risk at tick 250 in rising hazard", "models.rug_chance"),
    ("per-tick hazard for fast_rug", "models.rug_chance"),
    ("how noisy is the price in high volatility", "models.price"),
    ("how many rounds were played in the last 6 hours", "data.round_count"),
    ("did we record any games today", "data.round_count"),
    ("what's the median rug tick", "data.round_stats"),
    ("average peak multiplier over the last 200 games", "data.round_stats"),
    ("how often does a round rug instantly", "data.round_stats"),
    (f"show round {GID2}", "data.round"),
    (f"when did {GID2} rug and how high did it go", "data.round"),
    ("who's the player called degen99", "data.player"),
    ("how much has player whale7 traded", "data.player"),
    ("sidebet win rate this week", "data.sidebets"),
    (f"is round {GID2} legit", "fairness.verify"),
    (f"check that game {GID2} wasn't rigged", "fairness.verify"),
    ("how does the rug pool work", "knowledge.search"),
    ("explain how sidebet payouts are calculated", "knowledge.search"),
    ("what does the bot observe in its environment", "knowledge.search"),
    ("is the rug predictable from anything", "discovery.predictors"),
    ("what did feature discovery find", "discovery.predictors"),
    ("did I make a mistake selling at tick 100 at 2x", "analyst.explain"),
    ("was buying at tick 30 worth it", "analyst.explain"),
    (f"why did my bot lose round {GID2}", "analyst.why"),
    ("why did ppo-v3 bet at that moment", "analyst.why"),
    ("what does my bot base its decisions on", "analyst.surrogate"),
    ("would the hybrid stop a bet at tick 200", "hybrid.decide"),
    ("how has my bot been doing since yesterday", "hybrid.stats"),
    ("how often did the agent override ppo-v3", "hybrid.stats"),
    ("what's the progress of my training", "training.run_status"),
    ("list my training runs", "training.runs"),
    ("what's my bot's regret vs the oracle", "training.compare_oracle"),
    ("which scenarios next for training", "curriculum.next"),
    ("is the job 3b9d6f2e-4c1a-4e8b-9a7d-2f6e1c0b5a93 finished", "jobs.status"),
    ("which model is answering", "models.llm_status"),
    ("help me, what can you answer", "system.help"),
    ("what will trader bob do next", "opponents.ask"),
    ("start a tournament", "tournaments.ask"),
    ("transfer my bot to the high volatility mode", "meta.ask"),
    ("is my reward shaping correct", "rewards.ask"),
    ("how many games did we log yesterday?", "data.round_count"),
    ("what is the rug chance per tick?", "models.rug_chance"),
    ("how did ppo-v3 do today?", "hybrid.stats"),
    (f"is round {GID2} fair?", "fairness.verify"),
]

# may be answered by a clarifying question, or routed to one of the listed intents
AMBIGUOUS: list[tuple[str, set[str]]] = [
    ("tick 200", {"coach.bet_now", "models.rug_chance", "coach.sell_now"}),
    ("my bot", {"hybrid.stats", "analyst.why", "analyst.surrogate"}),
    ("sidebet", {"data.sidebets", "knowledge.search", "coach.bet_now"}),
    ("what about the rug", {"models.rug_chance", "discovery.predictors", "knowledge.search"}),
    ("banana bread recipe", set()),
]
