"""AutoLRS: the LR of each training stage by Bayesian optimisation on the fly (torch)."""

from lrsched.autolrs.forecast import ExponentialForecast, MomentumForecast, TrialCurve
from lrsched.autolrs.search import AutoLRS

__all__ = ["AutoLRS", "ExponentialForecast", "MomentumForecast", "TrialCurve"]
