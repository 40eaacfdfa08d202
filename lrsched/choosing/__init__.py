"""Choosing a schedule with a fitted law: the best schedule for a budget (``optimize``,
``candidates``, each with its odds: ``with_odds``), and the peak LR with it (``sweep``),
and when to anneal a run in progress (``anneal_plan``), and which cheap run to make next
to sharpen a choice (``plan_runs``)."""

from lrsched.choosing.anneal import AnnealPlan, Cooldown, anneal_plan
from lrsched.choosing.optimize import (
    Candidate,
    candidates,
    fitted_peak_lrs,
    optimize,
    sweep,
    with_odds,
)
from lrsched.choosing.plan import Plan, PlannedRun, Proposal, plan_runs

__all__ = ["AnnealPlan", "Candidate", "Cooldown", "Plan", "PlannedRun", "Proposal",
           "anneal_plan", "candidates", "fitted_peak_lrs", "optimize", "plan_runs", "sweep",
           "with_odds"]
