# The release's no-SGC baseline on SUNCG (ssc/baseline): plain submanifold convolutions everywhere.
_base_ = ['./esscnet_sgc4_1xb4-100k_suncg.py']
model = dict(sgc_groups=1)
