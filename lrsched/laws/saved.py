"""Saved fits: ``load_fit`` reads back what ``Fit.save`` (or ``lrsched fit-curve --json``)
wrote, checking every field, and names the law from ``catalogue.LAWS``."""

from __future__ import annotations

import json
import math

import numpy as np

from lrsched.errors import InputError
from lrsched.files import parse_json, read_text
from lrsched.laws.base import Law
from lrsched.laws.catalogue import LAWS
from lrsched.laws.fit import VERSION, Fit

_REFIT = "refit with `lrsched fit-curve --json`, or mend the file"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _get(path, raw: dict, key: str, kind: type, default):
    """``raw[key]`` (``default`` when missing or null), checked to be a ``kind``."""
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise InputError(f"{path}: '{key}' is {json.dumps(value)[:60]}, not a JSON "
                         f"{'object' if kind is dict else 'list'}; {_REFIT}")
    return value


def _number_or_nan(path, where: str, value) -> float:
    if value is None:
        return float("nan")
    if not _is_number(value):
        raise InputError(f"{path}: {where} is {json.dumps(value)[:60]}, not a number or "
                         f"null; {_REFIT}")
    return float(value)


def _law_from(path, cls, options: dict) -> Law:
    """The law the fit file names, built from its ``options``."""
    try:
        return cls(**options)
    except (TypeError, KeyError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: 'options' {json.dumps(options)[:80]} do not make a "
                         f"{cls.name} law ({why}); {_REFIT}") from None


def _params(path, raw: dict, law: Law) -> dict:
    """The fitted parameters, each a finite number within the law's bounds."""
    params = _get(path, raw, "params", dict, {})
    missing = [n for n in law.param_names if not _is_number(params.get(n))]
    if missing:
        raise InputError(f"{path}: parameter(s) {', '.join(missing)} missing or not numbers; "
                         f"{_REFIT}")
    for p in law.params:
        value = float(params[p.name])
        if not (math.isfinite(value) and p.low <= value <= p.high):
            raise InputError(f"{path}: parameter {p.name} = {value:g} is outside the "
                             f"{law.name} law's range [{p.low:g}, {p.high:g}]; {_REFIT}")
    return {n: float(params[n]) for n in law.param_names}


def _covariance(path, raw: dict, law: Law):
    """(matrix or None, names) from a fit file's ``covariance``, shapes checked."""
    cov = _get(path, raw, "covariance", dict, {})
    names = _get(path, cov, "names", list, [])
    unknown = [n for n in names if n not in law.param_names]
    if unknown or len(set(names)) != len(names):
        raise InputError(f"{path}: covariance names {names} must be distinct parameters of "
                         f"the {law.name} law ({', '.join(law.param_names)}); {_REFIT}")
    matrix = cov.get("matrix")
    if matrix is None:
        return None, names
    try:
        matrix = np.array(matrix, dtype=float)
    except (TypeError, ValueError):
        matrix = None
    if matrix is None or matrix.shape != (len(names), len(names)):
        shape = "not a numeric matrix" if matrix is None else f"of shape {matrix.shape}"
        raise InputError(f"{path}: covariance matrix is {shape}, but there are {len(names)} "
                         f"covariance names; it must be {len(names)} x {len(names)}; {_REFIT}")
    if not np.all(np.isfinite(matrix)):
        raise InputError(f"{path}: the covariance matrix holds a non-finite number; {_REFIT}")
    return matrix, names


def load_fit(path) -> Fit:
    """Read a fit written by ``Fit.save`` (or ``lrsched fit-curve --json``).

    A file that cannot be used (not JSON, an unknown law or version, missing, mistyped or
    out-of-range fields, a covariance that does not match its names) raises a one-line
    InputError naming the file and the field."""
    raw = parse_json(read_text(path), path, "a fit file",
                     "give a file written by `lrsched fit-curve --json`")
    if not isinstance(raw, dict) or raw.get("law") not in LAWS:
        law = raw.get("law") if isinstance(raw, dict) else None
        raise InputError(f"{path}: law {json.dumps(law)[:40]} is not one of {sorted(LAWS)}; "
                         "give a file written by `lrsched fit-curve --json`")
    version = raw.get("version")
    if not (_is_number(version) and version == VERSION):
        raise InputError(f"{path}: fit format version {json.dumps(version)[:20]}, this "
                         f"lrsched reads version {VERSION}; refit with `lrsched fit-curve`")
    law = _law_from(path, LAWS[raw["law"]], _get(path, raw, "options", dict, {}))
    stderr = _get(path, raw, "stderr", dict, {})
    covariance, names = _covariance(path, raw, law)
    first_step = raw.get("first_step")
    if first_step is not None and not (isinstance(first_step, int)
                                       and not isinstance(first_step, bool) and first_step >= 0):
        raise InputError(f"{path}: 'first_step' is {json.dumps(first_step)[:60]}, not a whole "
                         f"number >= 0 or null; {_REFIT}")
    calibration = _number_or_nan(path, "'calibration'", raw.get("calibration"))
    if not (math.isnan(calibration) or 0 <= calibration < 1):
        raise InputError(f"{path}: 'calibration' {calibration:g} is not a relative error in "
                         f"[0, 1); {_REFIT}")
    return Fit(
        law=law,
        params=_params(path, raw, law),
        stderr={n: _number_or_nan(path, f"stderr of {n}", stderr.get(n))
                for n in law.param_names},
        covariance=covariance,
        covariance_names=names,
        first_step=first_step,
        objective=_number_or_nan(path, "'objective'", raw.get("objective")),
        data=_get(path, raw, "data", list, []),
        train=_get(path, raw, "train", dict, {}),
        seconds=_number_or_nan(path, "'seconds'", raw.get("seconds", 0.0)),
        estimated=_get(path, raw, "estimated", dict, {}),
        warnings=[str(w) for w in _get(path, raw, "warnings", list, [])],
        calibration=None if math.isnan(calibration) else calibration,
    )
