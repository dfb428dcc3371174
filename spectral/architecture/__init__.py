"""Composable network specs (dense, activation, residual, normalisation, repeat), their mean field, the law
of the input-output Jacobian by free probability, sampling, validation, large-depth limits and the JSON spec
format."""

from .brownian import FreeMultiplicativeBrownian, brownian_time
from .conv import dense_equivalent
from .jacobian import ArchitectureLaw, architecture_law, plain_network, spec_jacobian_law
from .json_spec import load_spec, spec_from_json, spec_to_json
from .layers import Conv, Dense, LayerNorm, Nonlinearity, Repeat, Residual, RMSNorm, Sequential
from .meanfield import SpecError, propagate, spec_mean_field
from .presets import deepnorm_resnet, deepnorm_spread, full_resnet, post_ln_resnet, pre_ln_resnet, scaled_resnet
from .residual_law import ResidualBlockLaw
from .sampling import SpecSamples, sample_spec
from .validation import SpecValidationReport, validate_spec

__all__ = ["ArchitectureLaw", "architecture_law", "plain_network", "spec_jacobian_law", "Dense", "Conv",
           "dense_equivalent", "LayerNorm", "Nonlinearity", "Repeat", "Residual", "RMSNorm", "Sequential", "SpecError",
           "propagate",
           "spec_mean_field", "ResidualBlockLaw", "load_spec", "spec_from_json", "spec_to_json",
           "FreeMultiplicativeBrownian", "brownian_time", "deepnorm_resnet", "deepnorm_spread", "full_resnet",
           "post_ln_resnet", "pre_ln_resnet", "scaled_resnet", "SpecSamples", "sample_spec", "SpecValidationReport",
           "validate_spec"]
