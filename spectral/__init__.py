r"""spectral: the spectrum of a deep network's input-output Jacobian at initialization.

Free probability gives the law of :math:`J J^T` for :math:`J = \prod_l D^l W^l` from the mean-field
fixed point and the per-layer S-transforms, :math:`S_{JJ^T} = \prod_l S_{(D^l)^2} S_{(W^l)^T W^l}`
(Pennington, Schoenholz & Ganguli 2017, 2018); sampled networks check it.

>>> import spectral as sp
>>> net = sp.Network(activation="tanh", weights="orthogonal", sigma_w2=1.05, sigma_b2=2.01e-5, depth=64)
>>> law = sp.jacobian_law(net)
>>> law.moments(2)                                              # doctest: +SKIP

The names below are re-exported from the modules that define them (imported on first use, so that
``import spectral`` and the command line start fast).
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "activations": ("Activation", "ACTIVATIONS", "activation"),
    "gaussian": ("gaussian_expectation", "dphi_moments"),
    "meanfield": ("MeanField", "PhaseDiagram", "NoFixedPointError", "mean_field", "critical_point", "q_map",
                  "fixed_point", "c_map", "phase_diagram"),
    "laws": ("SpectralLaw", "MarchenkoPastur", "HaarOrthogonal", "Semicircle", "Atomic", "Bernoulli", "Empirical",
             "DerivativeLaw", "FreeProduct", "FreeSum", "LAWS"),
    "product": ("Layer", "Network", "JacobianLaw", "jacobian_law"),
    "density": ("DensityResult", "UncertifiedDensityWarning"),
    "symbolic": ("symbolic_network", "SymbolicResult", "NoClosedFormError"),
    "montecarlo": ("sample_jacobians", "JacobianSamples", "haar_orthogonal", "product_log_singular_values"),
    "validation": ("validate", "ValidationReport"),
    "recommendation": ("recommend", "Recommendation", "spectrum_summary"),
    "sweeps": ("sweep", "open_sweep"),
    "transforms": ("dks", "tat", "transform_activation", "Transform", "kernel_stats"),
    "inspection": ("inspect", "InspectReport"),
    "architecture": ("Dense", "Conv", "Nonlinearity", "Residual", "LayerNorm", "RMSNorm", "Repeat", "Sequential",
                     "ArchitectureLaw", "ResidualBlockLaw", "SpecError", "spec_from_json", "spec_to_json",
                     "load_spec", "spec_mean_field", "architecture_law", "FreeMultiplicativeBrownian",
                     "brownian_time", "scaled_resnet", "pre_ln_resnet", "post_ln_resnet", "deepnorm_resnet",
                     "full_resnet", "sample_spec", "SpecSamples", "SpecValidationReport"),
}
#: submodules reachable as attributes (``sp.plotting``), imported on first use like the names above
_MODULES = ("plotting",)
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names} | {m: m for m in _MODULES}

__all__ = sorted(_WHERE) + ["__version__"]


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'spectral' has no attribute {name!r}")
    value = import_module(f"{__name__}.{module}")
    if name not in _MODULES:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
