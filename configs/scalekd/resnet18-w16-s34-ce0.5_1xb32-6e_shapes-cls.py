# The ScaleKD Shapes student as the distillers train it: the Shapes baseline ResNet-18-w16
# (configs/distill/resnet18-w16_1xb32-6e_shapes-cls.py) with stages 3 and 4 out (the neck pools and the head uses
# the last one, so the network is unchanged) and its CE weighted 1 - alpha = 0.5 (ScaleKD's KDLoss, alpha 0.5).
_base_ = ['../distill/resnet18-w16_1xb32-6e_shapes-cls.py']
model = dict(backbone=dict(out_indices=(2, 3)), head=dict(loss=dict(loss_weight=0.5)))
