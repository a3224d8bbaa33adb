"""The plan: desired users against current users, one action each (``build``), which user
each record is (``match``), what rows with errors hold back (``flawed``), manager links
(``managers``), how values are compared the way Graph stores them (``compare``), and the
safety thresholds (``safety``). Pure."""

from connector.core.plan.build import build_plan
from connector.core.plan.match import match_users
from connector.core.plan.model import ACTIONS, WRITES, Action, Change, Plan, Policy

__all__ = ["ACTIONS", "WRITES", "Action", "Change", "Plan", "Policy", "build_plan",
           "match_users"]
