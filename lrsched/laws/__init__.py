"""Loss-curve laws: fit measured curves, predict the loss of any LR schedule.

The package's rooms, each importing only those above it in this list:
``metrics`` (scores), ``predictive`` (the joint predictive distribution of final losses),
``fit`` (the result, ``Fit``), ``fitting`` (every procedure: staged
fits, choices, calibration, warnings), ``base`` (what a law is: ``Param``, ``Law``), one
module per law (``momentum``, ``multipower``, ``relaxation``, ``blend``, ``crosslr``), ``catalogue``
(the laws by name, ``fit_auto``) and ``saved`` (``load_fit``).
"""

from lrsched.laws.blend import BlendLaw
from lrsched.laws.catalogue import LAWS, default_law, fit_auto
from lrsched.laws.crosslr import CrossLRLaw
from lrsched.laws.fit import Fit, FitError
from lrsched.laws.fitting import calibrate
from lrsched.laws.metrics import curve_metrics, decision_metrics
from lrsched.laws.momentum import MomentumLaw
from lrsched.laws.multipower import MultiPowerLaw
from lrsched.laws.relaxation import RelaxationLaw
from lrsched.laws.saved import load_fit

__all__ = ["LAWS", "BlendLaw", "CrossLRLaw", "Fit", "FitError", "MomentumLaw",
           "MultiPowerLaw", "RelaxationLaw", "calibrate", "curve_metrics", "decision_metrics",
           "default_law", "fit_auto", "load_fit"]
