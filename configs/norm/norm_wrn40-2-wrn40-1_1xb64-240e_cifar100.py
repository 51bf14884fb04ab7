# NORM on CIFAR-100, WRN-40-2 teacher -> WRN-40-1 student: 71.98 -> 74.82 top-1 in the paper (README
# Table 1). Recipe of the official train_cifar_student.py: 240 epochs, batch 64, SGD lr 0.05, wd 5e-4, x0.1 at
# 150/180/210 (the student baseline wrn40-1_1xb64-240e_cifar100.py), N = 8 (64 -> 1024 channels), NORM weight
# b = 1 with the CIFAR beta_1 schedule 0.1/0.5/1/0.5/0.1 switching at epochs 10/20/180/210, no logit KD (a = 0),
# CE weight r = 0.1 (the README's example command; the released script sweeps r in {0.0625, 0.125, 0.25, 0.5}).
# Both last-stage maps are 8x8 here; if they differed, NORMLoss max-pools the larger one (the official CIFAR code
# pools the teacher). mmext applies the FT after the student backbone's final BN-ReLU and regresses the teacher's
# post-BN-ReLU feature, so the FT folds exactly into head.fc at export; the official WRN student code puts the FT
# before that BN-ReLU (on the raw group-2 output, against the teacher's raw group-2 output), which cannot be
# folded into the plain network. The official code's logit standardisation (--ceta 2.5) is off, as in mmext's
# ImageNet NORM configs; set logit_standardization=2.5 to reproduce it.
# Everything but the student is the WRN-16-2 NORM config's (same teacher, recipe, N, weights and schedule).
_base_ = ['./norm_wrn40-2-wrn16-2_1xb64-240e_cifar100.py']

model = dict(
    student=dict(backbone=dict(depth=40, widen_factor=1), head=dict(in_channels=64)),
    in_channels=64)
