"""Slot parsers: the numbers and names a question carries, found by rules, not a model.

Each parser reads one kind of value (mode, tick, price or multiple, stake, round id,
run or job id, bot, player, time window, count of rounds) from the raw message. The
router never sees these values: `mask` replaces ids by a plain word before the message is
embedded, so a hex id does not pull a question towards whatever example shares its tokens.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from game.rules import available_modes
from tools.embeddings import bundled_model_path

GAME_ID = re.compile(r"\b\d{8}-[0-9a-f]{16}\b")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
UUID = re.compile(rf"\b{_UUID}\b", re.IGNORECASE)
_NUMBER = r"(\d+(?:\.\d+)?)"
_TICK = re.compile(r"\b(?:tick|t)\s*(?:=|#|no\.?|number)?\s*(\d{1,4})\b", re.IGNORECASE)
_TICK_AFTER = re.compile(r"\b(\d{1,4})(?:st|nd|rd|th)?\s+ticks?\b", re.IGNORECASE)
_MULTIPLE = re.compile(rf"\b{_NUMBER}\s*(?:x\b|\u00d7)", re.IGNORECASE)
_PRICE = re.compile(
    rf"\b(?:price|multiplier|at)\s+(?:of\s+|is\s+)?{_NUMBER}(?!\s*(?:sol|ticks?|%))\b",
    re.IGNORECASE,
)
_STAKE = re.compile(rf"\b{_NUMBER}\s*sol\b", re.IGNORECASE)
_LAST_N = re.compile(r"\blast\s+(\d{1,6})\s+(?:rounds|games)\b", re.IGNORECASE)
_HOURS = re.compile(r"\b(?:last|past)\s+(\d{1,4})\s*(hours?|h|days?|d|weeks?|w)\b", re.IGNORECASE)
_BOT = re.compile(r"\b(?:bot|policy|agent)\s+(?:id\s+)?([A-Za-z][A-Za-z0-9_.:-]{1,99})\b")
_NAMED_BOT = re.compile(
    r"(?<![\w.:-])((?:ppo|dqn|a2c|sac|rl|hybrid|baseline|bot)[-_.][A-Za-z0-9_.:-]{1,96})\b",
    re.IGNORECASE,
)
_PLAYER = re.compile(
    r"\b(?:player|user|username|trader|opponent)(?:\s+(?:called|named))?\s+@?([^\s?,!;]{1,128})",
    re.IGNORECASE,
)
# a player named without "player": "who's CryptoKing", "CryptoKing, the player",
# "tell me about degen420" (a name-shaped word: CamelCase, an underscore or letters+digits)
_WHO = re.compile(r"\bwho(?:'s|\s+is)\s+@?([A-Za-z][\w.-]{1,127})", re.IGNORECASE)
_THE_PLAYER = re.compile(
    r"@?([A-Za-z][\w.-]{1,127}),?\s+(?:the|a|that)\s+(?:player|trader|user|opponent)\b",
    re.IGNORECASE,
)
_NAME_SHAPED = re.compile(
    r"(?<![\w@.-])@?((?=[A-Za-z]\w*(?:[a-z][A-Z]|_|[A-Za-z]\d))[A-Za-z]\w{2,127})(?:'s)?\b"
)
_ABOUT_PERSON = re.compile(
    r"\b(who|about|profile|style|habits?|trades?|traded|trading|made|earned|lost|usually|"
    r"next|will|going to|likely|predict\w*|archetype|trader|player|usual|look ?up|human|"
    r"doing|exits?|entry|entries)\b",
    re.IGNORECASE,
)
# a lowercase name is taken only where a person must stand: "profile of moonboi", "how's
# cryptoking doing", "will moonboi buy", "what did degen do", "moonboi's style"
_PERSON_SLOT = re.compile(
    r"\b(?:profile (?:of|for)|how(?:'s|s| is| has)|what (?:will|would|does|did|is)|"
    r"will|would|did|does|is|has|have|what'?s|whats)\s+@?([a-z]{4,})(?:'s)?\s+(?=(?:been\s+)?(?:doing|"
    r"perform\w*|buy\w*|sell\w*|bet\w*|sidebet\w*|cash\w*|exit\w*|ape|dump\w*|enter\w*|"
    r"trad\w*|play\w*|do|going|gonna|planning|usually|likely|about to|lost|won|made|earned|"
    r"gained)\b)|\b(?:lowdown|info|intel|dirt|details) (?:on|about)\s+@?([a-z]{4,})\b|"
    r"\b(?:profile (?:of|for)|look ?up|next (?:action|move|trade) (?:of|for|by))\s+@?([a-z]{4,})\b|"
    r"\b([a-z]{4,})'s\s+(?:profile|style|trades|trading|pnl|habits|record|stats|history|next|"
    r"usual|deal|story)\b",
)
# an asset outside the game ("should i sell my eth", "which coins should i dump"): the
# coach's words but not its question (the router asks back), and never a player's name
ELSEWHERE = re.compile(
    r"\b(stocks?|equit(y|ies)|bonds?|coins?|cryptos?|cryptocurrenc(y|ies)|bitcoin|btc|eth|"
    r"ether(eum)?|doge(coin)?|"
    r"cardano|xrp|nvidia|tesla|gold|silver|forex|nfts?|etfs?|solana|memecoins?|"
    r"(apple|tesla|nvidia|my) shares)\b",
    re.IGNORECASE,
)
# the game's own words the sentence model splits into pieces: never a player's name
_GAME_WORDS = frozenset((
    "sidebet", "sidebets", "instarug", "instarugs", "rugpool", "multiplier", "multipliers",
    "volatility", "override", "overrides", "payout", "payouts", "tourney", "leaderboard",
    "surrogate", "predictor", "predictors", "rugging", "rugger", "presale", "hodl", "degen",
    "aping", "breakeven", "cooldown", "websocket", "backend", "openai", "mybot", "someone",
    "curriculum", "oracle", "hazard", "archetype", "metrics", "eval", "bots", "rugs", "ticks",
))  # fmt: skip
_ROUND_WORD = re.compile(r"\b(?:round|game|match)\s+#?([A-Za-z0-9_-]{3,64})\b", re.IGNORECASE)
# "game <uuid>", "match <uuid>": a round named by an id of the uuid form, not a training run
_NAMED_UUID = re.compile(rf"\b(?:round|game|match)\s+#?({_UUID})\b", re.IGNORECASE)
# words that follow "bot" or "player" in a sentence without naming one
_NOT_NAMES = frozenset(
    ("bet", "bets", "lose", "lost", "do", "did", "does", "is", "was", "the", "a", "an", "win",
     "won", "sell", "sold", "buy", "bought", "play", "played", "and", "or", "in", "on", "at",
     "doing", "perform", "performed", "today", "yesterday", "override", "overrides", "with",
     "vs", "versus", "compare", "compared", "against", "this", "that", "my", "our",
     # nouns after "player" that name no one: "predicting player actions"
     "actions", "action", "behaviour", "behavior", "behaviours", "behaviors", "moves", "trades",
     "habits", "types", "archetypes", "profiles", "stats", "data", "activity", "patterns",
     "styles", "counts", "names", "models", "modeling", "modelling", "base", "pool")
)  # fmt: skip


@dataclass(frozen=True)
class Slots:
    """What a question names. None: not said (a follow-up may inherit it)."""

    mode: str | None = None
    tick: int | None = None
    price: float | None = None
    stake: float | None = None
    game_id: str | None = None
    run_id: str | None = None
    bot_id: str | None = None
    player: str | None = None
    since_hours: float | None = None
    last_n: int | None = None
    window: str | None = None  # the phrase the window came from ("today", "last 3 days")
    action: str | None = None  # hold | buy | sell | sidebet, as the question names it
    flat: bool | None = None  # True: no position held ("i have no position", "buy now?")

    def merged_over(self, earlier: Slots) -> Slots:
        """These slots, with the earlier turn's filling what this one does not say."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in values.items():
            if value is None:
                values[name] = getattr(earlier, name)
        return Slots(**values)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Slots:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def filled(self) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) is not None}


def _mode(text: str) -> str | None:
    lowered = text.lower()
    for mode in sorted(available_modes(), key=len, reverse=True):
        spoken = mode.replace("_", " ")
        if re.search(rf"\b({re.escape(mode)}|{re.escape(spoken)})\b", lowered):
            return mode
    return None


def _window(text: str, now: datetime) -> tuple[float | None, str | None]:
    lowered = text.lower()
    match = _HOURS.search(lowered)
    if match:
        n, unit = int(match.group(1)), match.group(2)[0]
        hours = n * {"h": 1, "d": 24, "w": 168}[unit]
        return float(max(hours, 1)), match.group(0)
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since_midnight = max((now - midnight).total_seconds() / 3600.0, 1 / 60)
    if re.search(r"\b(today|so far)\b", lowered):
        return round(since_midnight, 4), "today"
    if re.search(r"\byesterday\b", lowered):
        return round(since_midnight + 24.0, 4), "since yesterday"
    if re.search(r"\b(this week|past week|last week)\b", lowered):
        return 168.0, "this week"
    if re.search(r"\b(last hour|past hour|this hour)\b", lowered):
        return 1.0, "the last hour"
    return None, None


_ACTIONS = (
    ("sidebet", re.compile(r"\b(side\s?-?bets?|bet|bets|betting|bet on)\b", re.IGNORECASE)),
    (
        "sell",
        re.compile(r"\b(sell|sells|selling|sold|exit|cash(ed)? out|take profit)\b", re.IGNORECASE),
    ),
    ("buy", re.compile(r"\b(buy|buys|buying|bought|enter|entered)\b", re.IGNORECASE)),
    ("hold", re.compile(r"\b(hold|holds|holding|held|wait|waited|waiting)\b", re.IGNORECASE)),
)


def _action(text: str) -> str | None:
    """The first action word of the message (its earliest mention wins)."""
    found = [(m.start(), name) for name, p in _ACTIONS for m in [p.search(text)] if m]
    return min(found)[1] if found else None


# no position held: said outright, or buying named with no word of selling or holding
_FLAT = re.compile(
    r"\b(?:no|without a|not in a|don'?t have a|dont have a|haven'?t got a)\s+(?:open\s+)?"
    r"(?:position|bag|tokens?|stake)\b|\bnot (?:holding|in (?:the round|yet))\b|"
    r"\b(?:nothing open|flat|haven'?t (?:bought|entered)|not bought)\b",
    re.IGNORECASE,
)


_BUYING = re.compile(
    r"(?<!was )(?<!were )\b(buy|buying|ape|aping|(get|getting|jump|jumping|go|going) in|enter|"
    r"entering|entry)\b",  # "was buying at tick 30 worth it" reviews a past decision
    re.IGNORECASE,
)
_HELD = re.compile(
    r"\b(bought|entered|i'?m in|we'?re in|my (position|bag|tokens?)|up \d|down \d|holding|"
    r"still hold)\b",
    re.IGNORECASE,
)
# the words of a question asked with no position (the bet coach's cue)
FLAT_CUE = rf"{_FLAT.pattern}|{_BUYING.pattern}"


def _flat(text: str) -> bool | None:
    """True when the message says it holds nothing, or asks about buying with no word of a
    position held, selling or holding: the coach's question is then whether to buy or bet,
    and a price named is the round's, not a position's."""
    if _FLAT.search(text):
        return True
    selling = any(p.search(text) for n, p in _ACTIONS if n == "sell")
    if _BUYING.search(text) and not selling and not _HELD.search(text):
        return True
    return None


def _tick(text: str) -> int | None:
    for pattern in (_TICK, _TICK_AFTER):
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def _price(text: str) -> float | None:
    match = _MULTIPLE.search(text) or _PRICE.search(text)
    if match:
        value = float(match.group(1))
        return value if 0 < value <= 1e6 else None
    return None


def _bot(text: str) -> str | None:
    for match in _BOT.finditer(text):
        word = match.group(1).rstrip(".:-")
        if word.lower() not in _NOT_NAMES and any(c.isdigit() or c in "-_." for c in word):
            return word
    named = _NAMED_BOT.search(text)
    return named.group(1).rstrip(".:-") if named else None


def _player(text: str) -> str | None:
    """ "player X" first; then "who is X", "X, the player", and a name-shaped word in a
    question about a person ("what's CryptoKing's style"). Not a bot, a mode or a word of
    the chat's own vocabulary."""
    for match in _PLAYER.finditer(text):  # "player X": X as said, any form of id
        word = match.group(1).strip("'\"").removesuffix("'s")
        if word and word.lower() not in _NOT_NAMES:
            return word
    for pattern in (_WHO, _THE_PLAYER):
        for match in pattern.finditer(text):
            word = _name(match.group(1), lowercase=True)
            if word is not None:
                return word
    for match in _PERSON_SLOT.finditer(text):
        # "profile of X", "X's style" leave no room for a typo of a word; "will X buy" does
        word = _name(next(g for g in match.groups() if g), lowercase=True,
                     typo=match.group(3) is None and match.group(4) is None)  # fmt: skip
        if word is not None:
            return word
    if _ABOUT_PERSON.search(text):
        for match in _NAME_SHAPED.finditer(text):
            word = _name(match.group(1))
            if word is not None and not _NAMED_BOT.fullmatch(word):
                return word
    return None


_NOT_PLAYERS = frozenset(("n8n", "you", "it", "that", "this", "there", "winning", "best", "top"))


def _name(word: str, *, lowercase: bool = False, typo: bool = True) -> str | None:
    """A candidate player name as said, or None when it is a word and not a name. A
    plain lowercase word is a name only where a person must stand (`lowercase`) and when
    it is no word: "who is winning" names no one, "who is moonboi" does."""
    word = word.strip("'\".,").removesuffix("'s")
    lowered = word.lower()
    if (
        not word
        or lowered in _NOT_NAMES
        or lowered in _NOT_PLAYERS
        or lowered in available_modes()
        or _NAMED_BOT.fullmatch(word)
        or (word.islower() and ELSEWHERE.fullmatch(word))
        or (word.islower() and not re.search(r"[\d_]", word) and not (
            lowercase and not is_word(lowered, typo=typo)))
    ):  # fmt: skip
        return None
    return word


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ENDINGS = ("s", "es", "ed", "ing", "er", "ers")


@functools.cache
def known_words() -> frozenset[str]:
    """The whole words of the sentence model's vocabulary (vocab.txt of the bundled
    all-MiniLM-L6-v2)."""
    try:
        lines = (bundled_model_path() / "vocab.txt").read_text().split()
    except (OSError, ImportError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower())


def one_edit(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away."""
    splits = [(word[:k], word[k:]) for k in range(len(word) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
        | {a + c + b for a, b in splits for c in _LETTERS}
    )


@functools.lru_cache(maxsize=4096)
def is_word(lowered: str, *, typo: bool = True) -> bool:
    """A word of English or of the game (an inflection of one, or with `typo` one edit
    from one), not a name like "moonboi" or "cryptoking"."""
    known = known_words()
    if not known:
        return True  # no vocabulary to tell: never guess a name
    stems = {lowered} | {lowered[: -len(e)] for e in _ENDINGS if lowered.endswith(e)}
    return bool(stems & known or stems & _GAME_WORDS) or (typo and bool(one_edit(lowered) & known))


def extract(text: str, now: datetime | None = None) -> Slots:
    """Every slot the message states."""
    now = now or datetime.now(UTC)
    game = GAME_ID.search(text)
    named = _NAMED_UUID.search(text)
    run = UUID.search(_NAMED_UUID.sub(" ", text))
    rest = GAME_ID.sub(" ", UUID.sub(" ", text))
    since_hours, window = _window(rest, now)
    last_n = _LAST_N.search(rest)
    stake = _STAKE.search(rest)
    game_id = game.group(0) if game else named.group(1).lower() if named else None
    if game_id is None:  # "round abc123": an id of another form, replayed as given
        word = _ROUND_WORD.search(rest)
        if word and any(c.isdigit() for c in word.group(1)) and not word.group(1).isdigit():
            game_id = word.group(1)
    priced = _STAKE.sub(" ", rest)
    return Slots(
        mode=_mode(rest),
        tick=_tick(rest),
        price=_price(priced),
        stake=float(stake.group(1)) if stake and float(stake.group(1)) > 0 else None,
        game_id=game_id,
        run_id=run.group(0).lower() if run else None,
        bot_id=_bot(rest),
        player=_player(rest),
        since_hours=since_hours,
        last_n=int(last_n.group(1)) if last_n and int(last_n.group(1)) > 0 else None,
        window=window,
        action=_action(rest),
        flat=_flat(rest),
    )


def _mode_names() -> re.Pattern[str]:
    names = sorted(available_modes(), key=len, reverse=True)
    spoken = "|".join(rf"{re.escape(m)}|{re.escape(m.replace('_', ' '))}" for m in names)
    return re.compile(rf"\b({spoken})\b", re.IGNORECASE)


_MODE_NAME = _mode_names()


def mask(text: str) -> str:
    """The message as the router embeds it: ids, names and game modes replaced by what
    they are, so "bob" pulls towards no example that happens to share the name, and "in
    rising hazard" or "in high volatility" is not a question about the hazard or the
    volatility."""
    text = _NAMED_UUID.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + "round", text)
    text = _MODE_NAME.sub("mode", UUID.sub("run", GAME_ID.sub("round", text)))
    for match in list(_PLAYER.finditer(text))[::-1]:
        if match.group(1).lower() not in _NOT_NAMES:
            text = text[: match.start(1)] + "someone" + text[match.end(1) :]
    player = _player(text)
    if player is not None and player != "someone":  # named without "player"
        text = re.sub(rf"(?<![\w-]){re.escape(player)}\b", "someone", text)
    bot = _bot(text)
    if bot:
        text = text.replace(bot, "mybot")
    return text


def with_defaults(slots: Slots, *, mode: str | None, bot_id: str | None) -> Slots:
    """The request's own mode and bot fill what the message does not name."""
    return replace(slots, mode=slots.mode or mode, bot_id=slots.bot_id or bot_id)


def recorded_when(slots: Slots) -> str:
    """The window as it follows "recorded": " today", " in the last hour", "" for all."""
    if slots.last_n or not slots.window:
        return f" in {window_text(slots)}" if slots.last_n else ""
    if slots.window in ("today", "since yesterday", "this week"):
        return f" {slots.window}"
    return f" in {slots.window}"


def window_text(slots: Slots) -> str:
    if slots.last_n:
        return f"the last {slots.last_n} rounds"
    if slots.window:
        return slots.window
    return "all stored rounds"
