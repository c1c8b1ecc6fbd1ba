"""Model quality on held-out data: accuracy and mean cross-entropy of fixed-point weights.

Evaluation is reporting, not consensus, so it runs in float64 (numpy) on the dequantised weights.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pot.data import Dataset, FloatArray, IntArray, dequantize
from pot.spec import ModelSpec


def logits(params: Mapping[str, FloatArray], spec: ModelSpec, x: FloatArray) -> FloatArray:
    """``(n, n_outputs)`` outputs of the spec's model with float ``params`` on flat ``(n, features)``
    inputs (the layer library's forward, :func:`pot.export.predict`)."""
    from pot.export import predict

    return predict(spec, dict(params), np.asarray(x, dtype=np.float64))


def evaluate_float(params: Mapping[str, FloatArray], spec: ModelSpec,
                   data: Dataset) -> tuple[float, float]:
    """(accuracy in [0, 1], mean softmax cross-entropy in nats) of float weights on ``data``; for
    an MSE spec, (R², the coefficient of determination, and the mean squared error)."""
    z = logits(params, spec, data.x)
    if not spec.classifies:
        y = np.asarray(data.y, dtype=np.float64).reshape(z.shape)
        mse = float(((z - y) ** 2).mean())
        return 1.0 - mse / float(y.var()), mse
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = float(-log_p[np.arange(len(data)), data.y].mean())
    acc = float((z.argmax(axis=1) == data.y).mean())
    return acc, loss


def evaluate(params: Mapping[str, IntArray], spec: ModelSpec, data: Dataset) -> tuple[float, float]:
    """:func:`evaluate_float` of fixed-point weights (dequantised at the spec's scale)."""
    return evaluate_float({k: dequantize(v, spec.scale) for k, v in params.items()}, spec, data)


def centralised_baseline(spec: ModelSpec, train: Dataset, test: Dataset, steps: int,
                         seed: int) -> tuple[float, float]:
    """Accuracy and loss of plain float SGD (torch) on the pooled IID training data.

    The reference a federated run is compared with: the same model, initial weights, batch size
    and learning rate, for ``steps`` SGD steps on batches drawn uniformly from all of ``train``.
    """
    from pot.data import batch_arrays, initial_checkpoint
    from pot.export import torch_sgd_step

    rng = np.random.default_rng(seed)
    params = {k: dequantize(v, spec.scale) for k, v in initial_checkpoint(spec).items()}
    for _ in range(steps):
        idx = rng.choice(len(train), size=spec.batch_size, replace=False)
        params = torch_sgd_step(spec, params, *batch_arrays(train, [int(i) for i in idx], spec))
    return evaluate_float(params, spec, test)
