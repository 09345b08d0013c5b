"""Folding batch normalization into Dense layers after training: the same predictions, no BN layers.

At inference a BN layer is the affine map ``x → s·x + t`` with ``s = γ/√(σ² + ε)`` and
``t = β − s·μ``. It folds into the Dense layer before it when nothing non-linear lies between
(``W′ = W·diag(s)``, ``b′ = s·b + t``), otherwise into the Dense layer after it, across any
dropout (``W′ = diag(s)·W``, ``b′ = b + t·W``).
"""

from __future__ import annotations

import keras
import numpy as np

_IDENTITY_AT_INFERENCE = (keras.layers.Dropout, keras.layers.Flatten)


def _affine(bn: keras.layers.BatchNormalization) -> tuple[np.ndarray, np.ndarray]:
    weights = {w.path.rsplit("/", 1)[-1]: keras.ops.convert_to_numpy(w).astype("float64") for w in bn.weights}
    scale = weights.get("gamma", 1.0) / np.sqrt(weights["moving_variance"] + bn.epsilon)
    return scale, weights.get("beta", 0.0) - scale * weights["moving_mean"]


def _dense(layer: keras.layers.Dense, kernel: np.ndarray, bias: np.ndarray) -> keras.layers.Dense:
    """A copy of ``layer`` (its activation kept) with these weights."""
    config = layer.get_config() | {"use_bias": True, "name": f"{layer.name}_folded"}
    folded = keras.layers.Dense.from_config(config)
    folded.build((None, kernel.shape[0]))
    folded.set_weights([kernel.astype(layer.kernel.dtype), bias.astype(layer.kernel.dtype)])
    return folded


def _weights(layer: keras.layers.Dense) -> tuple[np.ndarray, np.ndarray]:
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
    bias = keras.ops.convert_to_numpy(layer.bias).astype("float64") if layer.use_bias else np.zeros(kernel.shape[1])
    return kernel, bias


def fold_batch_norm(model: keras.Sequential) -> keras.Sequential:
    """An equivalent Sequential model without BatchNormalization layers (Dense, activation, dropout and
    flatten layers only); raises ValueError for a BN layer with no Dense layer to fold into."""
    out: list[keras.layers.Layer] = []
    pending: tuple[np.ndarray, np.ndarray] | None = None  # a BN waiting for the next Dense layer
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            scale, shift = _affine(layer)
            previous = out[-1] if out else None
            linear = isinstance(previous, keras.layers.Dense) and previous.get_config()["activation"] == "linear"
            if linear and pending is None:
                kernel, bias = _weights(previous)
                out[-1] = _dense(previous, kernel * scale, bias * scale + shift)
            elif pending is None:
                pending = (scale, shift)
            else:
                raise ValueError(f"{layer.name}: two batch normalizations in a row; fold one first")
        elif isinstance(layer, keras.layers.Dense):
            kernel, bias = _weights(layer)
            if pending is not None:
                scale, shift = pending
                kernel, bias, pending = kernel * scale[:, None], bias + shift @ kernel, None
            out.append(_dense(layer, kernel, bias))
        elif isinstance(layer, (*_IDENTITY_AT_INFERENCE, keras.layers.Activation)):
            if pending is not None and isinstance(layer, keras.layers.Activation):
                raise ValueError(f"{layer.name}: a batch normalization before an activation with no Dense before it")
            out.append(layer.__class__.from_config(layer.get_config()))
        else:
            raise ValueError(f"{layer.name}: cannot fold batch normalization across a {type(layer).__name__} layer")
    if pending is not None:
        raise ValueError("the last batch normalization has no Dense layer after it to fold into")
    return keras.Sequential([keras.Input(model.input_shape[1:]), *out])


def folding_error(model: keras.Sequential, x: np.ndarray, batch_size: int = 1000) -> float:
    """The largest absolute difference between the model's predictions on ``x`` and its folded copy's."""
    original = model.predict(x, batch_size=batch_size, verbose=0)
    folded = fold_batch_norm(model).predict(x, batch_size=batch_size, verbose=0)
    return float(np.max(np.abs(np.asarray(original, "float64") - np.asarray(folded, "float64"))))
