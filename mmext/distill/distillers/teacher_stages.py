"""Access to a frozen transformer teacher's last stage, for ScaleKD's teacher parameter perception ("ScaleKD:
Strong Vision Transformers Could Be Excellent Teachers", Fan et al., NeurIPS 2024, arXiv:2411.06786).

An adapter names where the teacher's real last-stage output is recorded and runs the teacher's last stage on
other tokens (the student's projected stage-3 feature) with gradients flowing to those tokens and none to the
teacher's parameters (``requires_grad`` is False on the frozen teacher, which stays in eval mode, so its
stochastic depth and dropout are off). Token grids come from the config (``hw``), never from a fixed 224-px input.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

__all__ = ['SwinLastStage', 'ViTLastBlocks', 'build_teacher_stage', 'tokens_to_map']


def tokens_to_map(x: torch.Tensor, hw: Sequence[int], num_extra_tokens: int = 0, name: str = 'feature'
                  ) -> torch.Tensor:
    """``(B, N_extra + H*W, C)`` tokens -> ``(B, C, H, W)`` (extra tokens such as cls dropped); maps pass through."""
    if x.dim() == 4:
        return x
    if x.dim() != 3:
        raise ValueError(f'{name}: expected (B, C, H, W) or (B, N, C), got {tuple(x.shape)}')
    h, w = hw
    x = x[:, num_extra_tokens:]
    if x.shape[1] != h * w:
        raise ValueError(f'{name}: {x.shape[1]} tokens (after {num_extra_tokens} extra) do not form the configured '
                         f'grid hw={tuple(hw)}; set hw to the token grid of the input size used')
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w)


class SwinLastStage:
    """mmpretrain ``SwinTransformer``: patch merging of stage 3, then stage 4 and its output norm.

    The real last-stage output is ``backbone`` output ``-1`` (``out_indices`` must include the last stage).
    """
    needs_extra_tokens = False

    def __init__(self, teacher: nn.Module) -> None:
        backbone = teacher.backbone
        if type(backbone).__name__ not in ('SwinTransformer', 'SwinTransformerV2'):
            raise TypeError(f"teacher_stage type='swin' needs an mmpretrain SwinTransformer teacher backbone, got "
                            f'{type(backbone).__name__}')
        last = len(backbone.stages) - 1
        if backbone.out_after_downsample or backbone.stages[-2].downsample is None:
            raise ValueError("teacher_stage type='swin': needs out_after_downsample=False (the default)")
        if last not in backbone.out_indices:
            raise ValueError(f"teacher_stage type='swin': the teacher backbone's out_indices must include the last "
                             f'stage {last}, got {backbone.out_indices}')
        self.backbone = backbone
        self.norm = getattr(backbone, f'norm{last}')
        self.target = dict(source='backbone', index=-1)
        self.extra = None

    def __call__(self, tokens: torch.Tensor, hw: Sequence[int], extra: Optional[torch.Tensor] = None
                 ) -> torch.Tensor:
        x, hw_shape = self.backbone.stages[-2].downsample(tokens, tuple(hw))
        x, hw_shape = self.backbone.stages[-1](x, hw_shape, do_downsample=False)
        return tokens_to_map(self.norm(x), hw_shape, 0, 'swin last stage')

    def target_map(self, record: torch.Tensor, hw: Sequence[int]) -> torch.Tensor:
        return record


class ViTLastBlocks:
    """mmpretrain ``VisionTransformer`` / ``BEiTViT``: the blocks ``layers[split:]`` are the "last stage".

    ViTs have no stages; ``split`` says how many blocks make stages 1-3 (e.g. 9 of ViT-B's 12, or 18 of 24 for a
    large model), which answers ScaleKD issue #2 in the config. The stage-3 record is the output of block
    ``split - 1``; its extra (cls) tokens are put in front of the projected student tokens before the remaining
    blocks. The real last-stage output is the final norm's output (``final_norm``) or the last block's.
    """
    needs_extra_tokens = True

    def __init__(self, teacher: nn.Module, split: int) -> None:
        backbone = teacher.backbone
        if type(backbone).__name__ not in ('VisionTransformer', 'BEiTViT', 'DeiT3', 'DistilledVisionTransformer'):
            raise TypeError(f"teacher_stage type='vit' needs an mmpretrain ViT-style teacher backbone, got "
                            f'{type(backbone).__name__}')
        n = len(backbone.layers)
        if not 0 < split < n:
            raise ValueError(f"teacher_stage type='vit': split must be in [1, {n - 1}] for {n} blocks, got {split}")
        self.backbone = backbone
        self.split = split
        self.beit = type(backbone).__name__ == 'BEiTViT'
        self.num_extra_tokens = getattr(backbone, 'num_extra_tokens', 1)
        final = 'backbone.ln1' if getattr(backbone, 'final_norm', False) else f'backbone.layers.{n - 1}'
        self.target = dict(source=final)
        self.extra = dict(source=f'backbone.layers.{split - 1}')

    def __call__(self, tokens: torch.Tensor, hw: Sequence[int], extra: Optional[torch.Tensor] = None
                 ) -> torch.Tensor:
        x = tokens if extra is None else torch.cat([extra[:, :self.num_extra_tokens].detach(), tokens], dim=1)
        bb = self.backbone
        rel = bb.rel_pos_bias() if self.beit and getattr(bb, 'rel_pos_bias', None) is not None else None
        for layer in bb.layers[self.split:]:
            x = layer(x, rel) if self.beit else layer(x)
        if getattr(bb, 'final_norm', False):
            x = bb.ln1(x)
        return tokens_to_map(x, hw, self.num_extra_tokens if extra is not None else 0, 'vit last blocks')

    def target_map(self, record: torch.Tensor, hw: Sequence[int]) -> torch.Tensor:
        return tokens_to_map(record, hw, self.num_extra_tokens, 'teacher last-stage tokens')

    def grid(self, inputs: torch.Tensor) -> Tuple[int, int]:
        """The token grid of ``inputs`` (from the patch embedding's stride, padded up like mmcv's PatchEmbed)."""
        stride = self.backbone.patch_embed.projection.stride
        return tuple(-(-int(size) // int(st)) for size, st in zip(inputs.shape[-2:], stride))


def build_teacher_stage(cfg: Dict, teacher: nn.Module):
    """``dict(type='swin')`` or ``dict(type='vit', split=k)``."""
    cfg = dict(cfg)
    kind = cfg.pop('type', None)
    if kind == 'swin':
        return SwinLastStage(teacher, **cfg)
    if kind == 'vit':
        if 'split' not in cfg:
            raise KeyError("teacher_stage type='vit' needs `split` (the number of blocks of stages 1-3)")
        return ViTLastBlocks(teacher, **cfg)
    raise ValueError(f"teacher_stage.type must be 'swin' or 'vit', got {kind!r}")
