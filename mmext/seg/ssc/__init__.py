"""Semantic scene completion: ESSCNet (SGC) with its data preprocessor, loss and metric."""
from .esscnet import ESSCNet
from .sparse_blocks import SparseBNReLU, SparseResBlock, prune_to_predicted
from .ssc_data_preprocessor import SSCDataPreprocessor
from .ssc_loss import SSCSelectedCELoss, select_voxels
from .ssc_metric import SSCMetric

__all__ = ['ESSCNet', 'SparseBNReLU', 'SparseResBlock', 'prune_to_predicted', 'SSCDataPreprocessor',
           'SSCSelectedCELoss', 'select_voxels', 'SSCMetric']
