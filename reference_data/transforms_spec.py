"""Reference values for DKS/TAT transforms of residual specs, computed with the ``dks`` package itself.

Source
------
``dks`` 0.1.2 from PyPI (DeepMind, https://github.com/deepmind/dks), ``dks.base.activation_transform.
_get_activations_params`` -- the routine behind ``get_transformed_activations`` -- with the subnetwork
maximizing function of a ResNet-v2-style network written by the rules of dks's own example
(``dks/examples/haiku/modified_resnet.py``, ``subnet_max_func``: each block maps the C value ``x`` to
``w**2 * x + (1 - w**2) * res_fn(x)``, a final activation follows, and the result is the maximum of the whole
network's value and the residual branch alone, ``res_fn(x)``), with identity shortcuts everywhere (no
projection shortcut: ``use_projection`` false) and two activations per branch (``res_fn = r o r``).

The spec of that network (``spec_json`` below, one per case)::

    Dense -> blocks x Residual(alpha=w, beta=sqrt(1 - w^2), branch=[act, Dense, act, Dense]) -> act

with orthogonal dense layers of sigma_w2 = 1 and no biases.  The ``dks`` package must be importable to
regenerate (it needs numpy, scipy, autograd and absl-py); ``python reference_data/transforms_spec.py`` writes
``transforms_spec.json``.
"""

import json
import math
from pathlib import Path

CASES = [
    # (name, method, activation, targets, blocks, shortcut weight w)
    ("dks_softplus_8x0.9", "DKS", "softplus", {"c_slope_1_target": 1.5}, 8, 0.9),
    ("dks_tanh_8x0.9", "DKS", "tanh", {"c_slope_1_target": 1.5}, 8, 0.9),
    ("tat_tanh_8x0.9", "TAT", "tanh", {"c_curve_target": 0.3}, 8, 0.9),
    ("tat_softplus_8x0.9", "TAT", "softplus", {"c_curve_target": 0.3}, 8, 0.9),
    ("tat_leaky_relu_8x0.9", "TAT", "leaky_relu", {"c_val_0_target": 0.5}, 8, 0.9),
    # two blocks: the residual branch alone has the larger curvature, the maximum is the branch's
    ("tat_tanh_2x0.9", "TAT", "tanh", {"c_curve_target": 0.3}, 2, 0.9),
]


def resnet_subnet_max(blocks, w):
    """dks's rules for the ResNet-v2-style network above (identity shortcuts, two activations per branch)."""

    def subnet_max(x, r_fn):
        def res_fn(z):
            return r_fn(r_fn(z))

        res_branch_subnetwork_x = res_fn(x)
        for _ in range(blocks):
            x = w**2 * x + (1.0 - w**2) * res_fn(x)
        x = r_fn(x)
        return max(x, res_branch_subnetwork_x)

    return subnet_max


def spec_json(activation, blocks, w):
    dense = {"dense": {"weights": "orthogonal", "sigma_w2": 1.0}}
    branch = [{"activation": activation}, dense, {"activation": activation}, dense]
    block = {"residual": {"alpha": w, "beta": math.sqrt(1 - w * w), "branch": branch}}
    return {"input_q": 1.0, "layers": [dense, {"repeat": {"times": blocks, "layers": [block]}},
                                       {"activation": activation}]}


def main():
    import dks
    from dks.base import activation_transform as at

    out = {"source": f"dks {getattr(dks, '__version__', '?')} (PyPI), dks.base.activation_transform."
                     "_get_activations_params; reference_data/transforms_spec.py", "cases": {}}
    for name, method, act, targets, blocks, w in CASES:
        params = at._get_activations_params(
            activation_names=(act,), method=method,
            dks_params=targets if method == "DKS" else None,
            tat_params=targets if method == "TAT" else None,
            subnet_max_func=resnet_subnet_max(blocks, w))[act]
        out["cases"][name] = {"method": method.lower(), "activation": act, "targets": targets, "blocks": blocks,
                              "shortcut_weight": w, "spec": spec_json(act, blocks, w),
                              "parameters": {k: float(v) for k, v in params.items()}}
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["cases"], indent=1)[:3000])


if __name__ == "__main__":
    main()
