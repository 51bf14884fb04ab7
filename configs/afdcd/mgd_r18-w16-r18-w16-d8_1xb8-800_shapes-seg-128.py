# Ablation on Shapes: the MGD-style masked feature mimicking alone (L_fd with the same projector, mask, weight and
# gradient clipping as Af-DCD; no contrastive term, no logit KD).
_base_ = ['./afdcd_r18-w16-r18-w16-d8_1xb8-800_shapes-seg-128.py']
model = dict(contrastive_loss=None, kd_loss=None)
