"""Rules (pure functions of facts) and CDS card rendering. No HTTP.

`judge` reads the draft orders and says whether the record is needed; `conclude`
runs the rules on the record's facts and renders the cards; `evaluate` does both.
"""

from cards.config import RuleConfig
from cards.engine import Evaluation, Judgement, StageClock, conclude, evaluate, judge
from cards.registry import RULES, check_registry

__all__ = [
    "RULES",
    "Evaluation",
    "Judgement",
    "RuleConfig",
    "StageClock",
    "check_registry",
    "conclude",
    "evaluate",
    "judge",
]
