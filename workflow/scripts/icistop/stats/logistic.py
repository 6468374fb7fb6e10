"""Logistic regression by iteratively reweighted least squares (numpy only).

Used for the pooled (person-interval) logistic models of protocol deviation in the
clone-censor-weight analysis; equals ``glm(y ~ X, family = binomial, weights = w)`` in R when the
fit converges (``ridge=0``). Newton steps are halved whenever the (penalised) log-likelihood would
decrease, so (quasi-)separated data give large but finite coefficients instead of diverging.
"""

from __future__ import annotations

import numpy as np

_ETA_MAX = 35.0


def _expit(eta):
    return 1.0 / (1.0 + np.exp(-np.clip(eta, -_ETA_MAX, _ETA_MAX)))


def _loglik_eta(eta, y, w, beta, pen):
    return float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))) - 0.5 * np.sum(pen * beta ** 2))


def logit_fit(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, max_iter: int = 60,
              tol: float = 1e-10, ridge: float = 0.0, start: np.ndarray | None = None) -> np.ndarray:
    """Coefficients of P(y=1|X) = expit(X b); ``X`` must contain the intercept column.

    ``ridge`` adds an L2 penalty ridge * |b|^2 / 2 (not on the intercept). ``start``: starting
    coefficients (default: intercept at the observed log-odds, slopes 0); the optimum is the same.
    Rows of zero weight are dropped first (they do not enter the likelihood).
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    if weights is not None and not np.all(w > 0):
        keep = w > 0
        X, y, w = X[keep], y[keep], w[keep]
    p = X.shape[1]
    beta = np.zeros(p)
    ybar = np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6)
    beta[0] = np.log(ybar / (1 - ybar))
    if start is not None and len(start) == p and np.all(np.isfinite(start)):
        beta = np.asarray(start, float).copy()
    pen = np.full(p, ridge)
    pen[0] = 0.0
    eta = np.clip(X @ beta, -_ETA_MAX, _ETA_MAX)
    ll = _loglik_eta(eta, y, w, beta, pen)
    for _ in range(max_iter):
        mu = _expit(eta)
        v = np.clip(mu * (1 - mu), 1e-12, None) * w
        grad = X.T @ (w * (y - mu)) - pen * beta
        H = (X * v[:, None]).T @ X + np.diag(pen)
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, grad, rcond=None)[0]
        new = beta + step
        eta_new = np.clip(X @ new, -_ETA_MAX, _ETA_MAX)
        ll_new = _loglik_eta(eta_new, y, w, new, pen)
        halvings = 0
        while ll_new < ll - 1e-12 and halvings < 30:
            step /= 2
            new = beta + step
            eta_new = np.clip(X @ new, -_ETA_MAX, _ETA_MAX)
            ll_new = _loglik_eta(eta_new, y, w, new, pen)
            halvings += 1
        beta, eta = new, eta_new
        done = abs(ll_new - ll) <= tol * (1 + abs(ll_new)) or np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta)))
        ll = ll_new
        if done:
            break
    return beta


def logit_predict(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return _expit(np.asarray(X, float) @ beta)
