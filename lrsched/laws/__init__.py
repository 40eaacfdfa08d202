"""Loss-curve laws: fit measured curves, predict the loss of any LR schedule."""

from lrsched.laws.fitting import Fit, FitError, load_fit
from lrsched.laws.metrics import curve_metrics, decision_metrics
from lrsched.laws.momentum import MomentumLaw
from lrsched.laws.multipower import MultiPowerLaw

__all__ = ["Fit", "FitError", "MomentumLaw", "MultiPowerLaw", "curve_metrics", "decision_metrics",
           "load_fit"]
