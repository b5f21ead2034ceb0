"""Pure NumPy math of the course: sizes, convolution, pooling, parameters, tables, kernels."""

from .conv import conv2d, conv_window, pad2d
from .display import diverging_rgb, to_grayscale, to_rgb8
from .kernels import KERNEL_PRESETS, preset_kernel
from .params import conv_params, dense_params
from .pooling import pool2d, pool_winners
from .shapes import STACK_LAYERS, param_shares, param_totals, shape_table, stack_table
from .sizes import conv_output_size, effective_kernel_size, padding_amounts, pool_output_size

__all__ = [
    "KERNEL_PRESETS",
    "STACK_LAYERS",
    "conv2d",
    "conv_output_size",
    "conv_params",
    "conv_window",
    "dense_params",
    "diverging_rgb",
    "effective_kernel_size",
    "pad2d",
    "padding_amounts",
    "param_shares",
    "param_totals",
    "pool2d",
    "pool_output_size",
    "pool_winners",
    "preset_kernel",
    "shape_table",
    "stack_table",
    "to_grayscale",
    "to_rgb8",
]
