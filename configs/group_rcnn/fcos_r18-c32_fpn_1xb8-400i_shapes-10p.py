# Lower bound: the same student on the 10 % box-labelled images alone (100 images, same 400 iterations).
_base_ = ['./fcos_r18-c32_fpn_1xb8-400i_shapes-100p.py']

train_dataloader = dict(dataset=dict(split='box'))
