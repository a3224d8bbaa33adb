"""The plan: desired users against current users, one action each (``build``), how values
are compared the way Graph stores them (``compare``), and the safety thresholds
(``safety``). Pure."""

from connector.core.plan.build import (
    ACTIONS,
    WRITES,
    Action,
    Change,
    Plan,
    Policy,
    build_plan,
    match_users,
)

__all__ = ["ACTIONS", "WRITES", "Action", "Change", "Plan", "Policy", "build_plan",
           "match_users"]
