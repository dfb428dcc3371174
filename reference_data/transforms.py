"""Reference values for DKS/TAT transforms: the ``dks`` package's documented numbers, and mpmath checks.

Sources
-------
* ``dks_parameters`` and ``dks_values`` are transcribed from the tests of the ``dks`` package (DeepMind,
  https://github.com/deepmind/dks, commit 021816e4325212b69c2c1bd6a5eb5b66854e4797, file
  ``tests/test_activation_transform.py``: ``test_parameter_computation`` and ``_run_value_tests``), with the
  targets those tests pass and their subnetwork maximizing function (``_subnet_max_func``, a modified
  ResNet-101 with shortcut weight 0.6, copied below as ``dks_test_subnet_max``).  dks checks them with
  ``assert_almost_equal`` (7 decimals) and ``assertAlmostEqual(places=8)``.
* ``kernel_at_dks_parameters``: the local Q/C-map values at dks's parameters, computed here with mpmath
  (``DPS`` digits, tanh-sinh quadrature of closed-form integrands split at the moved kink) -- independent
  of ``spectral.gaussian`` and of dks's own 100000-node Gauss-Legendre rule.  They show how well dks's
  solves meet their conditions (relu: C'(1) is off by about 5e-7, the others by about 1e-8).
* ``leaky_tat``: for the plain chain, the TAT leaky-ReLU slope a solving C^L(0) = eta (C the normalised
  leaky-ReLU C map, iterated in mpmath, mpmath.findroot), the exact spread v = L (1-a^2)^2 / (1+a^2)^2 of
  J J^T with orthogonal weights, and the large-depth limit 2 pi int_0^eta dc / (sqrt(1-c^2) - c acos c).

Run ``python reference_data/transforms.py`` to regenerate ``transforms.json``.
"""

import json
from pathlib import Path

import mpmath as mp

DPS = 30
SOURCE = ("deepmind/dks@021816e4325212b69c2c1bd6a5eb5b66854e4797:tests/test_activation_transform.py")

DKS_TARGETS_PARAMS = {"dks": {"c_slope_1_target": 1.2}, "tat": {"c_val_0_target": 0.75, "c_curve_target": 0.2}}
DKS_PARAMETERS = {
    "dks": {
        "softplus": {"input_scale": 0.18761008168267976, "input_shift": 0.40688063442262007,
                     "output_shift": -0.9213466151411376, "output_scale": 8.878672543665223},
        "tanh": {"input_scale": 0.07461073057540868, "input_shift": 0.5566915199964182,
                 "output_shift": -0.5034378768692127, "output_scale": 18.002635964442558},
        "relu": {"input_shift": 1.0, "input_scale": 0.3685360046708044, "output_shift": -1.000373858553784,
                 "output_scale": 2.721729988761473},
        "leaky_relu": {"negative_slope": 0.8761257073473065, "input_shift": -6.372924855154692e-13,
                       "output_shift": -0.049418692997275034, "output_scale": 1.0651832705682147},
        "gelu_exact": {"input_scale": 0.07043253126531114, "input_shift": 0.259489297927707,
                       "output_shift": -0.15815378961903598, "output_scale": 20.21158902315857},
    },
    "tat": {
        "softplus": {"input_scale": 0.15011489794748328, "input_shift": 0.5374599901127068,
                     "output_shift": -0.996481014465811, "output_scale": 10.54880187880574},
        "tanh": {"input_scale": 0.0580205218578313, "input_shift": 0.5218639804099805,
                 "output_shift": -0.4796430704354356, "output_scale": 22.36066261763117},
        "leaky_relu": {"output_scale": 1.196996549778802, "negative_slope": 0.6291800290346146},
    },
}
DKS_VALUE_TARGETS = {"dks": {"c_slope_1_target": 12.0, "local_q_slope_target": 0.97},
                     "tat": {"c_val_0_target": 0.95, "c_curve_target": 4.5}}
DKS_VALUES = {  # transformed activation at x = 0.6 and x = -0.6
    "dks": {"softplus": [0.5205088334781294, -0.6970897398761904], "tanh": [0.6910746968773931, -0.5122335409369118],
            "relu": [0.6053339463256114, -0.6486764456443863],
            "leaky_relu": [0.5628988987673328, -0.6649764416535503]},
    "tat": {"softplus": [0.6923574763139374, -0.4935166367766701], "tanh": [0.6860178437500071, -0.49030275427738146],
            "leaky_relu": [0.7954047194402861, -0.2955187511683813],
            "gelu_exact": [0.6922429517529013, -0.49198103131465193]},
}


def dks_test_subnet_max(x, r_fn, shortcut_weight=0.6):
    """The subnetwork maximizing function of dks's test (modified ResNet), verbatim in content."""
    blocks_per_group = (3, 4, 23, 3)
    res_branch_subnetwork_x = r_fn(r_fn(r_fn(x)))
    for i in range(4):
        for j in range(blocks_per_group[i]):
            res_x = r_fn(r_fn(r_fn(x)))
            shortcut_x = r_fn(x) if (j == 0) else x
            x = shortcut_weight**2 * shortcut_x + (1.0 - shortcut_weight**2) * res_x
    x = r_fn(x)
    return max(x, res_branch_subnetwork_x)


def _base(name, slope=None):
    """(phi, phi', phi'', kink) in mpmath."""
    if name == "tanh":
        return mp.tanh, lambda x: 1 - mp.tanh(x) ** 2, lambda x: -2 * mp.tanh(x) * (1 - mp.tanh(x) ** 2), None
    if name == "softplus":
        return (lambda x: mp.log1p(mp.exp(x)), lambda x: 1 / (1 + mp.exp(-x)),
                lambda x: mp.exp(-x) / (1 + mp.exp(-x)) ** 2, None)
    if name == "gelu_exact":
        return (lambda x: x * mp.ncdf(x), lambda x: mp.ncdf(x) + x * mp.npdf(x), lambda x: (2 - x * x) * mp.npdf(x),
                None)
    a = mp.mpf(0) if name == "relu" else mp.mpf(slope)
    return (lambda x: x if x >= 0 else a * x, lambda x: 1 if x >= 0 else a, lambda x: 0, 0)


def kernel(name, p):
    """Q(1), Q'(1), C(0), C'(1), C''(1) of gamma (phi(alpha z + beta) + delta), z ~ N(0, 1), in mpmath."""
    al = mp.mpf(p.get("input_scale", 1.0))
    be = mp.mpf(p.get("input_shift", 0.0))
    ga = mp.mpf(p.get("output_scale", 1.0))
    de = mp.mpf(p.get("output_shift", 0.0))
    f, f1, f2, kink = _base(name, p.get("negative_slope"))
    pts = [-mp.inf, mp.mpf(0), mp.inf] if kink is None else sorted({-mp.inf, mp.mpf(0), (kink - be) / al, mp.inf})

    def e(g):
        return mp.quad(lambda z: g(z) * mp.npdf(z), pts)

    def ph(z):
        return ga * (f(al * z + be) + de)

    q = e(lambda z: ph(z) ** 2)
    qs = e(lambda z: ph(z) ** 2 * (z * z - 1)) / 2
    m = e(ph)
    c1 = e(lambda z: (ga * al * f1(al * z + be)) ** 2)
    c2 = e(lambda z: (ga * al * al * f2(al * z + be)) ** 2) if kink is None else mp.inf
    return {"q_value": q, "q_slope": qs, "c_value_0": m * m / q, "c_slope_1": c1 / q, "c_curv_1": c2 / q}


def leaky_cmap(c, a):
    return ((1 - a) ** 2 * (mp.sqrt(1 - c * c) + (mp.pi - mp.acos(c)) * c) / mp.pi + 2 * a * c) / (1 + a * a)


def leaky_tat(eta, depth):
    def net_c0(a):
        c = mp.mpf(0)
        for _ in range(depth):
            c = leaky_cmap(c, a)
        return c

    a = mp.findroot(lambda t: net_c0(t) - mp.mpf(eta), (mp.mpf("0.3"), mp.mpf("0.99")), solver="anderson")
    v = depth * (1 - a * a) ** 2 / (1 + a * a) ** 2
    return a, v


def main():
    mp.mp.dps = DPS
    out = {"source": f"{SOURCE}; mpmath {mp.__version__} at {DPS} digits; reference_data/transforms.py",
           "dks_targets": DKS_TARGETS_PARAMS, "dks_parameters": DKS_PARAMETERS,
           "dks_value_targets": DKS_VALUE_TARGETS, "dks_values": DKS_VALUES, "kernel_at_dks_parameters": {},
           "leaky_tat": []}
    for method, table in DKS_PARAMETERS.items():
        for name, p in table.items():
            if method == "tat" and name == "leaky_relu":
                p = {**p, "input_scale": 1.0}
            k = kernel(name, p)
            out["kernel_at_dks_parameters"][f"{method}:{name}"] = {key: mp.nstr(v, 20) for key, v in k.items()}
    limit = {}
    for eta in ("0.9", "0.75"):
        e = mp.mpf(eta)
        limit[eta] = 2 * mp.pi * mp.quad(lambda c: 1 / (mp.sqrt(1 - c * c) - c * mp.acos(c)), [0, e])
    for eta, depth in (("0.9", 100), ("0.9", 1000), ("0.75", 100)):
        a, v = leaky_tat(eta, depth)
        out["leaky_tat"].append({"eta": eta, "depth": depth, "slope": mp.nstr(a, 20), "spread": mp.nstr(v, 20),
                                 "spread_limit": mp.nstr(limit[eta], 20)})
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
