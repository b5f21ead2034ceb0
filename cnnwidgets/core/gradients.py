"""Backpropagation through convolution and pooling, and a kernel learned by gradient descent."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import Padding, padding_mode, pair
from .conv import conv2d, pad2d
from .pooling import pool2d
from .sizes import conv_output_size, padding_amounts, pool_output_size

__all__ = [
    "conv_kernel_gradient",
    "conv_input_gradient",
    "pool_gradient",
    "mse_loss",
    "kernel_loss_gradient",
    "kernel_step",
    "learn_kernel",
    "KernelDescent",
    "standardize",
    "max_stable_learning_rate",
]


def _float(name: str, x: object) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must hold numbers, got an array of {arr.dtype}.")
    return arr.astype(np.result_type(arr.dtype, np.float32))


def _image3(image: object) -> tuple[np.ndarray, bool]:
    x = _float("image", image)
    if x.ndim not in (2, 3):
        raise ValueError(
            f"image must be (height, width) or (height, width, channels), got shape {x.shape}."
        )
    return (x[:, :, None], True) if x.ndim == 2 else (x, False)


def _grad3(grad_output: object, out_hw: tuple[int, int]) -> tuple[np.ndarray, bool]:
    g = _float("grad_output", grad_output)
    if g.ndim not in (2, 3) or g.shape[:2] != tuple(out_hw):
        raise ValueError(
            f"grad_output must have the output's shape {tuple(out_hw)} (plus a filter axis), "
            f"got {g.shape}."
        )
    return (g[:, :, None], True) if g.ndim == 2 else (g, False)


def conv_kernel_gradient(
    image: np.ndarray,
    grad_output: np.ndarray,
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation_rate: int | tuple[int, int] = 1,
) -> np.ndarray:
    """How the loss changes with each kernel weight: ``dL/dK`` of a convolution.

    Weight ``(i, j)`` multiplies one input value at every output position, so its
    gradient is the sum, over all positions, of that input value times the output's
    gradient there: a cross-correlation of the input with ``grad_output``.

    Parameters
    ----------
    image : array ``(H, W)`` or ``(H, W, C)``
        The layer's input.
    grad_output : array ``(oh, ow)`` or ``(oh, ow, filters)``
        ``dL/d(output)``; ``(oh, ow)`` for one map.
    kernel_size, strides, padding, dilation_rate
        As in :func:`cnnwidgets.conv2d`.

    Returns
    -------
    array
        Shaped like the kernel: ``(kh, kw)`` for a 2-D image and map, ``(kh, kw, C)``
        for a colour image and one map, ``(kh, kw, C, filters)`` otherwise.

    Examples
    --------
    >>> x = np.array([[1., 2., 0.], [0., 1., 3.], [2., 0., 1.]])
    >>> conv_kernel_gradient(x, np.ones((2, 2)), 2)  # each weight sees four inputs
    array([[4., 6.],
           [3., 5.]])
    """
    x, gray = _image3(image)
    kh, kw = pair("kernel_size", kernel_size)
    sh, sw = pair("strides", strides)
    dh, dw = pair("dilation_rate", dilation_rate)
    oh, ow = conv_output_size(x.shape[:2], (kh, kw), (sh, sw), padding, (dh, dw))
    g, one_map = _grad3(grad_output, (oh, ow))
    dtype = np.result_type(x, g)
    xp = pad2d(x, (kh, kw), (sh, sw), padding, (dh, dw)).astype(dtype, copy=False)
    grad = np.zeros((kh, kw, x.shape[2], g.shape[2]), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            window = xp[r0 : r0 + (oh - 1) * sh + 1 : sh, c0 : c0 + (ow - 1) * sw + 1 : sw]
            grad[i, j] = np.einsum("rwc,rwf->cf", window, g)
    if one_map:
        grad = grad[:, :, :, 0]
        return grad[:, :, 0] if gray else grad
    return grad


def conv_input_gradient(
    grad_output: np.ndarray,
    kernel: np.ndarray,
    input_shape: tuple[int, ...],
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    dilation_rate: int | tuple[int, int] = 1,
) -> np.ndarray:
    """``dL/d(input)`` of a convolution: each output's gradient flows back to its window.

    Every input value gets the gradient of each output it took part in, times the
    weight it was multiplied by; zeros of the padding get theirs too, and are dropped.

    Parameters
    ----------
    grad_output : array ``(oh, ow)`` or ``(oh, ow, filters)``
    kernel : array ``(kh, kw)``, ``(kh, kw, C)`` or ``(kh, kw, C, filters)``
    input_shape : ``(H, W)`` or ``(H, W, C)``
        The shape of the layer's input; the result has this shape.

    Examples
    --------
    >>> conv_input_gradient(np.ones((2, 2)), np.ones((2, 2)), (3, 3))  # centre: in 4 windows
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    k = _float("kernel", kernel)
    shape = tuple(int(s) for s in input_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"input_shape must be (H, W) or (H, W, C), got {input_shape!r}.")
    channels = 1 if len(shape) == 2 else shape[2]
    if k.ndim == 2:
        k4 = k[:, :, None, None]
    elif k.ndim == 3:
        k4 = k[:, :, :, None]
    elif k.ndim == 4:
        k4 = k
    else:
        raise ValueError(f"kernel must be 2-, 3- or 4-D, got shape {k.shape}.")
    if k4.shape[2] != channels:
        raise ValueError(f"The kernel has depth {k4.shape[2]} but the input has {channels}.")
    kh, kw = k4.shape[:2]
    sh, sw = pair("strides", strides)
    dh, dw = pair("dilation_rate", dilation_rate)
    oh, ow = conv_output_size(shape[:2], (kh, kw), (sh, sw), padding, (dh, dw))
    g, _ = _grad3(grad_output, (oh, ow))
    if g.shape[2] != k4.shape[3]:
        raise ValueError(f"grad_output has {g.shape[2]} map(s) but the kernel {k4.shape[3]}.")
    pad = padding_mode(padding)
    top, bottom = padding_amounts(shape[0], kh, sh, pad, dh)
    left, right = padding_amounts(shape[1], kw, sw, pad, dw)
    dtype = np.result_type(g, k4)
    gp = np.zeros((shape[0] + top + bottom, shape[1] + left + right, channels), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            gp[r0 : r0 + (oh - 1) * sh + 1 : sh, c0 : c0 + (ow - 1) * sw + 1 : sw] += g @ k4[i, j].T
    out = gp[top : top + shape[0], left : left + shape[1]]
    return out[:, :, 0] if len(shape) == 2 else out


def pool_gradient(
    x: np.ndarray,
    grad_output: np.ndarray,
    pool_size: int | tuple[int, int] = 2,
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    mode: str = "max",
) -> np.ndarray:
    """``dL/dx`` of a pooling layer: max pooling routes each gradient to its window's winner.

    A max pool's output is one input value, so only that cell (the first largest, in
    reading order) gets the gradient; the others get 0. An average pool spreads it
    evenly over the window's real (non-padding) cells. Pooling has no weights, so
    this is all backpropagation does there.

    Examples
    --------
    >>> x = np.array([[1., 3.], [4., 2.]])
    >>> pool_gradient(x, np.array([[10.]]))
    array([[ 0.,  0.],
           [10.,  0.]])
    >>> pool_gradient(x, np.array([[10.]]), mode="avg")
    array([[2.5, 2.5],
           [2.5, 2.5]])
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}.")
    arr = _float("x", x)
    if arr.ndim not in (2, 3):
        raise ValueError(f"x must be (H, W) or (H, W, C), got shape {arr.shape}.")
    x3 = arr[:, :, None] if arr.ndim == 2 else arr
    pad = padding_mode(padding)
    kh, kw = pair("pool_size", pool_size)
    sh, sw = (kh, kw) if strides is None else pair("strides", strides)
    oh, ow = pool_output_size(x3.shape[:2], (kh, kw), (sh, sw), padding)
    g, _ = _grad3(grad_output, (oh, ow))
    if g.shape[2] != x3.shape[2]:
        raise ValueError(f"grad_output has {g.shape[2]} channel(s) but x has {x3.shape[2]}.")
    top, bottom = padding_amounts(x3.shape[0], kh, sh, pad)
    left, right = padding_amounts(x3.shape[1], kw, sw, pad)
    widths = [(top, bottom), (left, right), (0, 0)]
    dtype = np.result_type(x3, g)
    grad = np.zeros((x3.shape[0] + top + bottom, x3.shape[1] + left + right, x3.shape[2]), dtype)

    def window(a: np.ndarray, i: int, j: int) -> np.ndarray:
        return a[i : i + (oh - 1) * sh + 1 : sh, j : j + (ow - 1) * sw + 1 : sw]

    if mode == "max":
        xp = np.pad(x3.astype(np.float64), widths, constant_values=-np.inf)
        best = pool2d(x3, (kh, kw), (sh, sw), padding, "max").astype(np.float64)
        taken = np.zeros(g.shape, dtype=bool)  # a tie goes to the first cell only
        for i in range(kh):
            for j in range(kw):
                wins = (window(xp, i, j) == best) & ~taken
                taken |= wins
                window(grad, i, j)[...] += np.where(wins, g, 0)
    else:
        ones = np.pad(np.ones(x3.shape[:2] + (1,)), widths)
        count = sum(window(ones, i, j) for i in range(kh) for j in range(kw))
        share = g / count
        for i in range(kh):
            for j in range(kw):
                window(grad, i, j)[...] += share
    out = grad[top : top + x3.shape[0], left : left + x3.shape[1]]
    return out[:, :, 0] if arr.ndim == 2 else out


# --- learning a kernel -----------------------------------------------------------------------


def mse_loss(y_hat: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error, ``mean((y_hat - y)²)``, as ``keras.losses.MeanSquaredError``.

    Examples
    --------
    >>> mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    5.0
    """
    diff = np.asarray(y_hat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(diff**2))


def kernel_loss_gradient(
    image: np.ndarray,
    kernel: np.ndarray,
    target: np.ndarray,
    padding: Padding = "valid",
) -> tuple[float, np.ndarray]:
    """The loss of a kernel and its gradient: how far ``conv2d(image, kernel)`` is from ``target``.

    The loss is the mean squared error over the output; by the chain rule its gradient
    with respect to the output is ``2 (output - target) / n``, and
    :func:`conv_kernel_gradient` carries that back to every weight.

    Returns
    -------
    (loss, gradient)
        ``gradient`` has the kernel's shape.

    Examples
    --------
    >>> x = np.array([[1., 2.], [3., 4.]])
    >>> loss, grad = kernel_loss_gradient(x, np.zeros((2, 2)), np.array([[1.0]]))
    >>> loss, grad.tolist()  # output 0, target 1: raise every weight, most where x is big
    (1.0, [[-2.0, -4.0], [-6.0, -8.0]])
    """
    k = _float("kernel", kernel)
    out = conv2d(_float("image", image), k, padding=padding)
    t = _float("target", target)
    if t.shape != out.shape:
        raise ValueError(f"target has shape {t.shape}, the output {out.shape}.")
    diff = out.astype(np.float64) - t
    grad_out = 2.0 * diff / diff.size
    grad = conv_kernel_gradient(image, grad_out, k.shape[:2], padding=padding)
    return float(np.mean(diff**2)), grad.reshape(k.shape)


def kernel_step(
    image: np.ndarray,
    kernel: np.ndarray,
    target: np.ndarray,
    learning_rate: float,
    padding: Padding = "valid",
) -> tuple[np.ndarray, float, np.ndarray]:
    """One step of gradient descent on the kernel: ``kernel - learning_rate · gradient``.

    Returns ``(new_kernel, loss, gradient)``, the loss and gradient being those of
    ``kernel`` before the step.

    Examples
    --------
    >>> x = np.array([[1., 2.], [3., 4.]])
    >>> new, loss, grad = kernel_step(x, np.zeros((2, 2)), np.array([[1.0]]), 0.1)
    >>> new.round(2).tolist()
    [[0.2, 0.4], [0.6, 0.8]]
    """
    loss, grad = kernel_loss_gradient(image, kernel, target, padding)
    return np.asarray(kernel, dtype=np.float64) - learning_rate * grad, loss, grad


def standardize(image: np.ndarray) -> np.ndarray:
    """``(image - mean) / std``: zero mean, unit spread, so one learning rate suits any photo.

    Gradient descent on raw 0..255 values needs a learning rate 65,000 times smaller
    than on 0..1 values; standardized inputs are what Keras models are usually fed.

    Examples
    --------
    >>> standardize(np.array([0.0, 2.0, 4.0])).tolist()
    [-1.224744871391589, 0.0, 1.224744871391589]
    """
    x = np.asarray(image, dtype=np.float64)
    spread = x.std()
    return (x - x.mean()) / (spread if spread > 0 else 1.0)


def max_stable_learning_rate(
    image: np.ndarray, kernel_size: int | tuple[int, int], padding: Padding = "valid"
) -> float:
    """The learning rate above which gradient descent on a kernel's squared error diverges.

    The loss is a bowl: ``L(K) = mean((window · K - target)²)``, whose curvature along
    its steepest direction is the largest eigenvalue ``λ`` of ``2 · mean(window windowᵀ)``.
    A step larger than ``2 / λ`` overshoots the bottom by more than it started from, so
    every step makes things worse: the loss explodes.

    Examples
    --------
    >>> round(max_stable_learning_rate(np.ones((3, 3)), 2), 6)  # windows all [1, 1, 1, 1]: λ = 8
    0.25
    """
    x = _float("image", image)
    if x.ndim != 2:
        raise ValueError(f"image must be 2-D (one channel), got shape {x.shape}.")
    kh, kw = pair("kernel_size", kernel_size)
    xp = pad2d(x, (kh, kw), 1, padding).astype(np.float64)
    oh, ow = conv_output_size(x.shape, (kh, kw), 1, padding)
    windows = np.stack(
        [xp[i : i + oh, j : j + ow].reshape(-1) for i in range(kh) for j in range(kw)], axis=1
    )
    curvature = 2.0 * windows.T @ windows / len(windows)
    return float(2.0 / np.linalg.eigvalsh(curvature)[-1])


@dataclass
class KernelDescent:
    """Every step of :func:`learn_kernel`: ``kernels[t]`` had loss ``losses[t]``."""

    kernels: list[np.ndarray] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    gradients: list[np.ndarray] = field(default_factory=list)

    @property
    def kernel(self) -> np.ndarray:
        """The kernel after the last step."""
        return self.kernels[-1]


def learn_kernel(
    image: np.ndarray,
    target: np.ndarray,
    kernel: np.ndarray,
    learning_rate: float,
    steps: int,
    padding: Padding = "valid",
) -> KernelDescent:
    """Learn a kernel from ``kernel`` by ``steps`` steps of gradient descent.

    ``target`` is the output the kernel should produce on ``image``, for example
    ``conv2d(image, preset_kernel("vertical edges"))``: the learned kernel then
    becomes that edge detector, though nobody typed its numbers.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(size=(12, 12))
    >>> sobel = np.array([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]])
    >>> run = learn_kernel(x, conv2d(x, sobel), rng.normal(size=(3, 3)), 0.1, 400)
    >>> bool(run.losses[-1] < 1e-3 * run.losses[0]), bool(np.abs(run.kernel - sobel).max() < 0.05)
    (True, True)
    """
    history = KernelDescent(kernels=[np.asarray(kernel, dtype=np.float64).copy()])
    k = history.kernels[0]
    for _ in range(int(steps)):
        k, loss, grad = kernel_step(image, k, target, learning_rate, padding)
        history.losses.append(loss)
        history.gradients.append(grad)
        history.kernels.append(k)
    final, _ = kernel_loss_gradient(image, k, target, padding)
    history.losses.append(final)
    return history
