"""Choosing a schedule with a fitted law: the best schedule for a budget (``optimize``,
``candidates``), and the peak LR with it (``sweep``), and when to anneal a run in
progress (``anneal_plan``)."""

from lrsched.choosing.anneal import AnnealPlan, Cooldown, anneal_plan
from lrsched.choosing.optimize import Candidate, candidates, fitted_peak_lrs, optimize, sweep

__all__ = ["AnnealPlan", "Candidate", "Cooldown", "anneal_plan", "candidates",
           "fitted_peak_lrs", "optimize", "sweep"]
