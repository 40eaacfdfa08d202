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
from lrsched.lr_arrays import MAX_STEPS

_REFIT = "refit with `lrsched fit-curve --json`, or mend the file"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shown(value, width: int = 60) -> str:
    return json.dumps(value)[:width]


def _get(path, raw: dict, key: str, kind: type, default):
    """``raw[key]`` (``default`` when missing or null), checked to be a ``kind``."""
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise InputError(f"{path}: '{key}' is {_shown(value)}, not a JSON "
                         f"{'object' if kind is dict else 'list'}; {_REFIT}")
    return value


def _number(path, where: str, value, null: bool = True) -> float:
    """``value`` as a float (NaN for null where ``null``); anything else, or an integer
    past the floats, is an InputError naming ``where``."""
    if value is None and null:
        return float("nan")
    try:
        if _is_number(value):
            return float(value)
    except OverflowError:
        raise InputError(f"{path}: {where} is {_shown(value, 20)}, too large a number; "
                         f"{_REFIT}") from None
    raise InputError(f"{path}: {where} is {_shown(value)}, not a number"
                     f"{' or null' if null else ''}; {_REFIT}")


def _whole(path, where: str, value) -> int:
    """``value`` checked to be a whole number of steps (at most ``MAX_STEPS``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STEPS:
        raise InputError(f"{path}: {where} is {_shown(value)}, not a whole number >= 0 (at "
                         f"most {MAX_STEPS:,}); {_REFIT}")
    return value


def _law_from(path, cls, options: dict) -> Law:
    """The law the fit file names, built from its ``options``."""
    try:
        return cls(**options)
    except (TypeError, KeyError, ValueError, OverflowError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: 'options' {_shown(options, 80)} do not make a "
                         f"{cls.name} law ({why}); {_REFIT}") from None


def _params(path, raw: dict, law: Law) -> dict:
    """The fitted parameters, each a finite number within the law's bounds."""
    params = _get(path, raw, "params", dict, {})
    missing = [n for n in law.param_names if not _is_number(params.get(n))]
    if missing:
        raise InputError(f"{path}: parameter(s) {', '.join(missing)} missing or not numbers; "
                         f"{_REFIT}")
    out = {}
    for p in law.params:
        value = out[p.name] = _number(path, f"parameter {p.name}", params[p.name])
        if not (math.isfinite(value) and p.low <= value <= p.high):
            raise InputError(f"{path}: parameter {p.name} = {value:g} is outside the "
                             f"{law.name} law's range [{p.low:g}, {p.high:g}]; {_REFIT}")
    return out


def _stderr(path, raw: dict, law: Law) -> dict:
    """The standard errors: numbers >= 0, or NaN (null, missing) where unknown."""
    stderr = _get(path, raw, "stderr", dict, {})
    out = {n: _number(path, f"stderr of {n}", stderr.get(n)) for n in law.param_names}
    negative = next((n for n, v in out.items() if v < 0), None)
    if negative is not None:
        raise InputError(f"{path}: stderr of {negative} is {out[negative]:g}, below 0; "
                         f"{_REFIT}")
    return out


def _covariance(path, raw: dict, law: Law, stderr: dict):
    """(matrix or None, names) from a fit file's ``covariance``, shapes checked. A
    variance below 0 is refused where ``stderr`` gives the parameter a standard error;
    where that is unknown (null) it is what a degenerate fit writes, and is kept."""
    cov = _get(path, raw, "covariance", dict, {})
    names = _get(path, cov, "names", list, [])
    unknown = [n for n in names if n not in law.param_names]
    if unknown or len(set(names)) != len(names):
        raise InputError(f"{path}: covariance names {_shown(names)} must be distinct "
                         f"parameters of the {law.name} law ({', '.join(law.param_names)}); "
                         f"{_REFIT}")
    matrix = cov.get("matrix")
    if matrix is None:
        return None, names
    try:
        matrix = np.array(matrix, dtype=float)
    except (TypeError, ValueError, OverflowError):
        matrix = None
    if matrix is None or matrix.shape != (len(names), len(names)):
        shape = "not a numeric matrix" if matrix is None else f"of shape {matrix.shape}"
        raise InputError(f"{path}: covariance matrix is {shape}, but there are {len(names)} "
                         f"covariance names; it must be {len(names)} x {len(names)}; {_REFIT}")
    if not np.all(np.isfinite(matrix)):
        raise InputError(f"{path}: the covariance matrix holds a non-finite number; {_REFIT}")
    negative = [n for n, v in zip(names, np.diag(matrix)) if v < 0 and stderr[n] >= 0]
    if negative:
        raise InputError(f"{path}: the covariance matrix gives {negative[0]} a negative "
                         f"variance, but its stderr is {stderr[negative[0]]:g}; {_REFIT}")
    return matrix, names


def _data(path, raw: dict) -> list:
    """The summaries of the fitted curves, with the fields that predictions read checked:
    ``first_step``, ``n``, ``steps`` (the first and last step used) and ``lr`` (the lowest
    and the peak LR)."""
    data = _get(path, raw, "data", list, [])
    for i, d in enumerate(data, start=1):
        where = f"'data' entry {i}"
        if not isinstance(d, dict):
            raise InputError(f"{path}: {where} is {_shown(d)}, not a JSON object; {_REFIT}")
        for key in ("first_step", "n"):
            if key in d:
                _whole(path, f"{where}'s {key}", d[key])
        for key, read in (("steps", _whole), ("lr", _number)):
            if key in d:
                _span(path, f"{where}'s {key}", d[key], read)
    return data


def _span(path, where: str, pair, read) -> None:
    """``pair`` checked to be ``[lowest, highest]``: each as ``read`` takes it, and
    0 <= lowest <= highest, highest > 0 and finite."""
    values = [read(path, where, v) for v in pair] if isinstance(pair, list) else []
    if not (len(values) == 2 and 0 <= values[0] <= values[1] and 0 < values[1] < math.inf):
        raise InputError(f"{path}: {where} is {_shown(pair)}, not [lowest, highest] with "
                         f"0 <= lowest <= highest and highest > 0; {_REFIT}")


def load_fit(path) -> Fit:
    """Read a fit written by ``Fit.save`` (or ``lrsched fit-curve --json``).

    A file that cannot be used (not JSON, an unknown law or version, missing, mistyped or
    out-of-range fields, a covariance that does not match its names or is none) raises a
    one-line InputError naming the file and the field."""
    raw = parse_json(read_text(path), path, "a fit file",
                     "give a file written by `lrsched fit-curve --json`")
    law = raw.get("law") if isinstance(raw, dict) else None
    if not isinstance(law, str) or law not in LAWS:
        raise InputError(f"{path}: law {_shown(law, 40)} is not one of {sorted(LAWS)}; "
                         "give a file written by `lrsched fit-curve --json`")
    version = raw.get("version")
    if not (_is_number(version) and version == VERSION):
        raise InputError(f"{path}: fit format version {_shown(version, 20)}, this "
                         f"lrsched reads version {VERSION}; refit with `lrsched fit-curve`")
    law = _law_from(path, LAWS[law], _get(path, raw, "options", dict, {}))
    stderr = _stderr(path, raw, law)
    covariance, names = _covariance(path, raw, law, stderr)
    first_step = raw.get("first_step")
    if first_step is not None:
        _whole(path, "'first_step'", first_step)
    calibration = _number(path, "'calibration'", raw.get("calibration"))
    if not (math.isnan(calibration) or 0 <= calibration < 1):
        raise InputError(f"{path}: 'calibration' {calibration:g} is not a relative error in "
                         f"[0, 1); {_REFIT}")
    length = _number(path, "'correlation_length'", raw.get("correlation_length"))
    if not (math.isnan(length) or length > 0):
        raise InputError(f"{path}: 'correlation_length' {length:g} is not a distance > 0; "
                         f"{_REFIT}")
    return Fit(
        law=law,
        params=_params(path, raw, law),
        stderr=stderr,
        covariance=covariance,
        covariance_names=names,
        first_step=first_step,
        objective=_number(path, "'objective'", raw.get("objective")),
        data=_data(path, raw),
        train=_get(path, raw, "train", dict, {}),
        seconds=_number(path, "'seconds'", raw.get("seconds", 0.0)),
        estimated=_get(path, raw, "estimated", dict, {}),
        warnings=[str(w) for w in _get(path, raw, "warnings", list, [])],
        calibration=None if math.isnan(calibration) else calibration,
        correlation_length=None if math.isnan(length) else length,
    )
