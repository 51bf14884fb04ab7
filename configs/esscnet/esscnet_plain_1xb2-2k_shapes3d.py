# The no-SGC baseline of esscnet_sgc4_1xb2-2k_shapes3d.py: identical except plain submanifold convs (G = 1).
_base_ = ['./esscnet_sgc4_1xb2-2k_shapes3d.py']
model = dict(sgc_groups=1)
