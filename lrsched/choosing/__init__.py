"""Choosing a schedule with a fitted law: the best schedule for a budget (``optimize``,
``candidates``) and when to anneal a run in progress (``anneal_plan``)."""

from lrsched.choosing.anneal import AnnealPlan, Cooldown, anneal_plan
from lrsched.choosing.optimize import Candidate, candidates, optimize

__all__ = ["AnnealPlan", "Candidate", "Cooldown", "anneal_plan", "candidates", "optimize"]
