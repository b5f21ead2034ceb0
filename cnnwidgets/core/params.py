"""Parameter counts of the layers the course uses: weights plus biases."""

from __future__ import annotations

from ._validate import pair, positive_int

__all__ = ["conv_params", "dense_params"]


def conv_params(
    kernel_size: int | tuple[int, int], in_channels: int, filters: int, use_bias: bool = True
) -> int:
    """Weights and biases of a Conv2D layer: ``filters * kh * kw * in_channels + filters``.

    Each filter is as deep as its input and has ONE bias, whatever that depth.

    Examples
    --------
    >>> conv_params(3, 1, 32)
    320
    >>> conv_params(3, 32, 64)
    18496
    """
    kh, kw = pair("kernel_size", kernel_size)
    c = positive_int("in_channels", in_channels)
    f = positive_int("filters", filters)
    return f * kh * kw * c + (f if use_bias else 0)


def dense_params(in_features: int, units: int, use_bias: bool = True) -> int:
    """Weights and biases of a Dense layer: ``in_features * units + units``.

    Examples
    --------
    >>> dense_params(3136, 64)
    200768
    """
    n = positive_int("in_features", in_features)
    u = positive_int("units", units)
    return n * u + (u if use_bias else 0)
