"""Train / validation / test splits that keep every class's share (stratified) and a seed."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["split"]


def split(
    X,
    y,
    *,
    test_size: float = 0.2,
    val_size: float = 0.0,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, ...]:
    """Split images and labels into train and test (and validation) parts.

    The same arguments always give the same split. With ``stratify=True`` each part
    holds every class in (as nearly as whole images allow) the same proportion as ``y``.
    Each part comes shuffled, so classes are never in blocks.

    Parameters
    ----------
    X, y : array-like
        Images ``(n, ...)`` and labels ``(n,)``.
    test_size, val_size : float or int
        A fraction of all ``n`` images (``0.2``) or a number of images (``300``).
        Fractions are rounded up, as in scikit-learn. ``val_size=0`` (default): no
        validation part.
    seed : int
        Seeds the shuffle.
    stratify : bool
        Keep class proportions in every part.

    Returns
    -------
    tuple of numpy.ndarray
        ``(X_train, X_test, y_train, y_test)``, or with ``val_size > 0``
        ``(X_train, X_val, X_test, y_train, y_val, y_test)``, in scikit-learn's order.

    Examples
    --------
    >>> X, y = np.arange(20).reshape(10, 2), np.array([0] * 5 + [1] * 5)
    >>> X_train, X_test, y_train, y_test = split(X, y, test_size=0.4)
    >>> X_train.shape, np.bincount(y_test).tolist()
    ((6, 2), [2, 2])
    """
    X, y = np.asarray(X), np.asarray(y)
    n = len(y)
    if y.ndim != 1:
        raise ValueError(f"y must hold one label per image, shape (n,), got shape {y.shape}.")
    if len(X) != n:
        raise ValueError(f"X and y must have the same length, got {len(X)} images and {n} labels.")
    n_test, n_val = _count(test_size, n, "test_size"), _count(val_size, n, "val_size")
    if n - n_test - n_val < 1:
        raise ValueError(
            f"test_size={test_size!r} and val_size={val_size!r} leave no training images "
            f"out of {n}."
        )
    rng = np.random.default_rng(seed)
    if stratify:
        classes, y_index = np.unique(y, return_inverse=True)
        members = [rng.permutation(np.flatnonzero(y_index == c)) for c in range(len(classes))]
        sizes = np.array([len(m) for m in members])
        test_counts = _apportion(sizes, n_test, rng)
        val_counts = _apportion(sizes - test_counts, n_val, rng)
        test = np.concatenate([m[:t] for m, t in zip(members, test_counts, strict=True)])
        val = np.concatenate(
            [m[t : t + v] for m, t, v in zip(members, test_counts, val_counts, strict=True)]
        )
        train = np.concatenate(
            [m[t + v :] for m, t, v in zip(members, test_counts, val_counts, strict=True)]
        )
        train, val, test = rng.permutation(train), rng.permutation(val), rng.permutation(test)
    else:
        order = rng.permutation(n)
        test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    if n_val:
        return X[train], X[val], X[test], y[train], y[val], y[test]
    return X[train], X[test], y[train], y[test]


def _count(size: float, n: int, argument: str) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise TypeError(f"{argument} must be a fraction or a number of images, got {size!r}.")
    if isinstance(size, (float, np.floating)):
        if not 0.0 <= size < 1.0:
            raise ValueError(f"{argument} as a fraction must be in [0, 1), got {size!r}.")
        # round() first: 0.2 * 1200 is 240.00000000000003 in floating point.
        return math.ceil(round(float(size) * n, 9))
    if not 0 <= size < n:
        raise ValueError(f"{argument} as a number of images must be in [0, {n}), got {size!r}.")
    return int(size)


def _apportion(sizes: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Split ``total`` into whole counts proportional to ``sizes`` (largest remainder)."""
    whole = int(sizes.sum())
    if total == 0 or whole == 0:
        return np.zeros_like(sizes)
    counts, remainders = np.divmod(sizes * total, whole)  # exact integer quotas
    # Largest remainders get the leftover images; ties are broken at random (seeded),
    # not by class order, so no class is always the one rounded down.
    order = np.lexsort((rng.permutation(len(sizes)), -remainders))
    counts[order[: total - int(counts.sum())]] += 1
    return counts
