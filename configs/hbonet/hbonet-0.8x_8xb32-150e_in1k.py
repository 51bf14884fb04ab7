# HBONet 0.8x on ImageNet-1k with the release's recipe (d-li14/mobilenetv2.pytorch, which d-li14/HBONet follows):
# batch 256 (8 x 32), SGD momentum 0.9, lr 0.05, wd 4e-5, cosine decay over 150 epochs, RandomResizedCrop 224 +
# flip; no label smoothing, no dropout. Published (release README): 205 MFLOPs, top-1 / top-5 71.3 / 89.7.
# Released weights: tools/model_converters/hbonet2mmext.py pretrained/hbonet_0_8.pth.
_base_ = ['./hbonet-1.0x_8xb32-150e_in1k.py']
model = dict(backbone=dict(widen_factor=0.8))
