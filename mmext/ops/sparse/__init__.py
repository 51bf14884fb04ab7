"""Sparse 3D convolution: one interface, mmcv's CUDA ops on a GPU and a pure-PyTorch rulebook path anywhere."""
from .functional import (BACKENDS, gather_gemm_scatter, mmcv_sparse_available, resolve_backend, sparse_conv3d,
                         sparse_max_pool3d)
from .modules import SpConv3d, SpConvBase, SpConvTranspose3d, SpInverseConv3d, SpMaxPool3d, SpSubMConv3d
from .rulebook import Rulebook, build_rulebook, conv_output_shape, deconv_output_shape, kernel_offsets
from .sgc import SGCSubMConv3d, group_sparse_tensor, sgc_groups, sgc_offset_mask
from .sparse_tensor import SparseTensor, coords_to_keys, keys_to_coords, sparse_add_union

__all__ = [
    'BACKENDS', 'gather_gemm_scatter', 'mmcv_sparse_available', 'resolve_backend', 'sparse_conv3d',
    'sparse_max_pool3d', 'SpConv3d', 'SpConvBase', 'SpConvTranspose3d', 'SpInverseConv3d', 'SpMaxPool3d',
    'SpSubMConv3d', 'Rulebook', 'build_rulebook', 'conv_output_shape', 'deconv_output_shape', 'kernel_offsets',
    'SGCSubMConv3d', 'group_sparse_tensor', 'sgc_groups', 'sgc_offset_mask',
    'SparseTensor', 'coords_to_keys', 'keys_to_coords',
    'sparse_add_union'
]
