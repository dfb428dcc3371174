"""Composable network specs (dense, activation, residual, normalisation, repeat), their mean field, the law
of the input-output Jacobian by free probability, sampling and the JSON spec format."""

from .jacobian import ArchitectureLaw, architecture_law, plain_network, spec_jacobian_law
from .json_spec import load_spec, spec_from_json, spec_to_json
from .layers import Dense, LayerNorm, Nonlinearity, Repeat, Residual, RMSNorm, Sequential
from .meanfield import SpecError, propagate, spec_mean_field
from .residual_law import ResidualBlockLaw

__all__ = ["ArchitectureLaw", "architecture_law", "plain_network", "spec_jacobian_law", "Dense", "LayerNorm",
           "Nonlinearity", "Repeat", "Residual", "RMSNorm", "Sequential", "SpecError", "propagate",
           "spec_mean_field", "ResidualBlockLaw", "load_spec", "spec_from_json", "spec_to_json"]
