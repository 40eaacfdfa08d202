"""Loss-curve laws: fit measured curves, predict the loss of any LR schedule."""

from lrsched.laws.blend import BlendLaw
from lrsched.laws.fit import Fit, FitError, load_fit
from lrsched.laws.fitting import calibrate, fit_auto
from lrsched.laws.metrics import curve_metrics, decision_metrics
from lrsched.laws.momentum import MomentumLaw
from lrsched.laws.multipower import MultiPowerLaw
from lrsched.laws.relaxation import RelaxationLaw

# by the name fits are saved under
LAWS = {law.name: law for law in (MomentumLaw, MultiPowerLaw, RelaxationLaw, BlendLaw)}

__all__ = ["LAWS", "BlendLaw", "Fit", "FitError", "MomentumLaw", "MultiPowerLaw",
           "RelaxationLaw", "calibrate", "curve_metrics", "decision_metrics", "fit_auto",
           "load_fit"]
