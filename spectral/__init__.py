"""spectral: spectra of deep-network input-output Jacobians at initialization."""

__version__ = "0.1.0"
