# Ablation on Shapes: the pixel-wise logit KD of Af-DCD alone (KL at T = 1 on the 1/8 logits, weight 1).
_base_ = ['./afdcd_r18-w16-r18-w16-d8_1xb8-800_shapes-seg-128.py']
model = dict(fd_loss=None, contrastive_loss=None, module_grad_clip=None)
