"""First-order update rules. Each has the signature

    next_w, config = update(w, dw, config=None)

- w: current weights (any shape); dw: gradient of the loss with respect to w (same shape)
- config: dict of hyperparameters (learning rate, ...) and of the rule's state (velocity,
  moment estimates, ...); a missing entry gets its default. The Solver keeps one config per
  parameter and passes it back at every step.
"""
import numpy as np


def _check(w, dw, name):
    if np.shape(w) != np.shape(dw):
        raise ValueError(f"{name}: w and dw must have the same shape, got {np.shape(w)} and "
                         f"{np.shape(dw)}")


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w -= learning_rate * dw.

    config: learning_rate (1e-2).
    """
    _check(w, dw, "sgd")
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: v = momentum * v - learning_rate * dw; w += v.

    config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    """
    _check(w, dw, "sgd_momentum")
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    next_w = None
    # TODO: Implement the momentum update; store the updated weights in next_w and the
    # updated velocity in v.
    # *****START OF YOUR CODE*****
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    # *****END OF YOUR CODE*****
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: a moving average of squared gradients scales each parameter's step.

    cache = decay_rate * cache + (1 - decay_rate) * dw**2
    w -= learning_rate * dw / (sqrt(cache) + epsilon)

    config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache (zeros like w).
    """
    _check(w, dw, "rmsprop")
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    next_w = None
    # TODO: Implement the RMSProp update; store the new weights in next_w and the new moving
    # average in config["cache"].
    # *****START OF YOUR CODE*****
    cache = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw * dw
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    # *****END OF YOUR CODE*****
    return next_w, config


def adam(w, dw, config=None):
    """Adam: moving averages of the gradient (m) and of its square (v), bias-corrected.

    t += 1
    m = beta1 * m + (1 - beta1) * dw;  v = beta2 * v + (1 - beta2) * dw**2
    w -= learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v (zeros
    like w), t (0; incremented BEFORE it is used, so the first step uses t = 1).
    """
    _check(w, dw, "adam")
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    next_w = None
    # TODO: Implement the Adam update; store the new weights in next_w and the new m, v and t
    # in config.
    # *****START OF YOUR CODE*****
    t = config["t"] + 1
    m = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    v = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw * dw
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["t"], config["m"], config["v"] = t, m, v
    # *****END OF YOUR CODE*****
    return next_w, config
