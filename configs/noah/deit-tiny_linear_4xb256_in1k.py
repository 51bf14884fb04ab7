# DeiT-Tiny with its class token and linear head (mmpretrain's stock DeiT recipe): the baseline paired with
# deit-tiny_noah_4xb256_in1k.py.
_base_ = ['mmpretrain::deit/deit-tiny_4xb256_in1k.py']
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmext'], allow_failed_imports=False)
