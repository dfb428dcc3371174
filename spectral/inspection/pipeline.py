r""":func:`inspect`: read a PyTorch model, predict its Jacobian law, measure it, compare (one call).

The steps are :func:`spectral.inspection.reading.read_model` (model -> JSON spec and init statistics),
:func:`spectral.inspection.predict.predict` (spec -> law), :func:`spectral.inspection.measuring.measure`
(the model's Jacobians at random inputs) and :func:`spectral.inspection.compare.compare` (checks and bands).
"""

from __future__ import annotations

import importlib.util
import time

from .compare import Z_THRESHOLD, compare
from .predict import predict
from .report import InspectReport

#: Defaults of the matrix-free path, as in :mod:`spectral.inspection.measuring` (which imports torch, so
#: ``spectral.inspect`` itself resolves without it): Rademacher probes per input, Lanczos steps per probe.
PROBES, LANCZOS_STEPS = 2, 80

__all__ = ["inspect"]


def inspect(model, input_shape, *, n_inputs: int = 8, seed: int = 0, input_q: float = 1.0, strict: bool = True,
            method: str = "auto", distribution: bool = True, probes: int = PROBES, steps: int = LANCZOS_STEPS,
            progress: bool | None = None, z_threshold: float = Z_THRESHOLD) -> InspectReport:
    r"""Predicted against measured spectrum of :math:`J J^T` for a PyTorch model as it is initialized.

    Parameters
    ----------
    model : torch.nn.Module
        ``nn.Sequential`` (nested) of ``Linear``, registry activations, ``LayerNorm``/``RMSNorm``,
        ``Identity``, ``Dropout`` (eval mode) and registered residual blocks
        (:class:`spectral.torch.Residual`); see :mod:`spectral.inspection.reading`.  Left as it is (not put in
        eval mode, not moved): it runs on its own device and dtype.
    input_shape : int or (N,)
        Shape of one input: a flat feature vector.
    n_inputs : int
        Random inputs :math:`x \sim N(0, q_{in} I)` at which the Jacobian is measured (>= 2).
    seed : int
        Seed of the inputs (and of the Lanczos probes).
    input_q : float
        Per-coordinate mean square :math:`q_{in}` of the inputs (the spec's ``input_q``).
    strict : bool
        True: a module without spec entry raises ValueError naming it; False: it is listed in
        ``report.unsupported``, the model is measured and no prediction is made (verdict "incomplete").
    method : "auto" | "dense" | "matrix-free"
        See :mod:`spectral.inspection.measuring` (auto: dense up to
        :data:`~spectral.inspection.measuring.DENSE_MAX_ENTRIES` Jacobian entries).
    distribution : bool
        Compare the distribution (KS) and compute :math:`\lambda_{\max}` and the condition number of the
        prediction (the density solver; minutes for deep per-layer tanh chains); False: m_1 and moments only.
    probes, steps : int
        Matrix-free path: Rademacher probes per input and Lanczos steps per probe.
    progress : bool or None
        Progress bar on stderr (None: when stderr is a terminal).
    z_threshold : float
        Pass threshold of the m_1 check (default 4, as :func:`spectral.validate`).

    Returns
    -------
    InspectReport
        ``print(report)`` shows the spec read, the init variances, predicted vs measured, checks and verdict.

    Examples
    --------
    >>> import torch, spectral as sp                                      # doctest: +SKIP
    >>> model = torch.nn.Sequential(torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128))
    >>> sp.inspect(model, input_shape=(128,)).verdict                     # doctest: +SKIP
    'passed'
    """
    if importlib.util.find_spec("torch") is None:
        raise ModuleNotFoundError("spectral.inspect needs PyTorch: pip install -e \".[torch]\"")
    from .measuring import measure
    from .reading import read_model

    t0 = time.perf_counter()
    reading = read_model(model, input_shape, strict=strict, input_q=input_q)
    unavailable = {}
    prediction = None
    if reading.unsupported:
        unavailable["prediction"] = (f"{len(reading.unsupported)} unsupported module(s): the spec is incomplete, "
                                     "so no law is predicted")
    else:
        try:
            prediction = predict(reading.spec)
        except NotImplementedError as exc:
            unavailable["prediction"] = str(exc)
    meas = measure(model, reading.spec["width"], n_inputs=n_inputs, input_q=input_q, seed=seed, method=method,
                   probes=probes, steps=steps, progress=progress)
    result = compare(prediction, meas, distribution=distribution, z_threshold=z_threshold)
    return InspectReport(
        spec=reading.spec, weights=reading.weights, unsupported=reading.unsupported, method=meas.method,
        predicted=result["predicted"], measured=result["measured"], checks=result["checks"],
        unavailable=unavailable | result["unavailable"], notes=tuple(meas.notes + result["notes"]),
        n_inputs=n_inputs, seed=seed, device=meas.device, seconds=time.perf_counter() - t0,
        distribution=result["distribution"], finite_width=result["finite_width"], measurement=meas,
        law=None if prediction is None else prediction.law)
