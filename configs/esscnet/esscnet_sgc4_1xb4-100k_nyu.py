# ESSCNet SGC pattern4 on NYUv2 SSC scenes converted with tools/dataset_converters/nyu_ssc2npz.py (SSCNet's
# depth + .bin label files -> tsdf + label .npz). Same network and schedule as the SUNCG config.
_base_ = ['./esscnet_sgc4_1xb4-100k_suncg.py']
data_root = 'data/nyu_ssc/'
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(scenes='train')))
val_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(scenes='test')))
test_dataloader = val_dataloader
