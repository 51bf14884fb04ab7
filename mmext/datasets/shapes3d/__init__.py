"""Shapes-3D: a deterministic generator of indoor voxel scenes for semantic scene completion."""
from .generator import (SHAPES3D_VERSION, SSC_CLASSES, SSC_PALETTE, flip_tsdf, generate_scene, projective_tsdf,
                        render_depth)
from .nyu_ssc import (SSC_CLASS_MAP, convert_nyu_scene, read_sscnet_bin, read_sscnet_depth, release_tsdf,
                      write_sscnet_bin)
from .prepare import ensure_shapes3d, shapes3d_params
from .release_voxel_ops import complete_tsdf, downsample_label_release, downsample_tsdf_release, release_mode
from .voxel_ops import downsample_label, downsample_tsdf

__all__ = [
    'SHAPES3D_VERSION', 'SSC_CLASSES', 'SSC_PALETTE', 'flip_tsdf', 'generate_scene', 'projective_tsdf',
    'render_depth', 'SSC_CLASS_MAP', 'convert_nyu_scene', 'read_sscnet_bin', 'read_sscnet_depth', 'release_tsdf',
    'write_sscnet_bin',
    'ensure_shapes3d', 'shapes3d_params', 'downsample_label', 'downsample_tsdf', 'complete_tsdf',
    'downsample_label_release', 'downsample_tsdf_release', 'release_mode'
]
