"""A written-out, per-head reference of the NOAH head, for the equivalence tests (not used by mmext itself)."""
import torch

__all__ = ['noah_reference']


def noah_reference(x: torch.Tensor, query_w: torch.Tensor, query_b: torch.Tensor, value_w: torch.Tensor,
                   value_b: torch.Tensor, head_num: int, key_ratio: float = 0.5, head_split: bool = True,
                   kv_split: bool = True) -> torch.Tensor:
    """Logits (B, K) of NOAH for a map (B, C, H, W), one head at a time, without dropout.

    ``query_w``/``value_w`` are the 1x1 conv weights (N*K, C_in/groups, 1, 1) in the authors' layout: output rows
    ``n*K:(n+1)*K`` belong to head ``n``, which (with ``head_split``) reads channel block ``n`` of its part.
    """
    b, c = x.shape[:2]
    x = x.reshape(b, c, -1)  # (B, C, L)
    if kv_split:
        ck = int(c * key_ratio)
        keys, values = x[:, :ck], x[:, ck:]
    else:
        keys = values = x
    k = query_w.shape[0] // head_num
    logits = x.new_zeros(b, k)
    for n in range(head_num):
        rows = slice(n * k, (n + 1) * k)
        if head_split:
            kc, vc = keys.shape[1] // head_num, values.shape[1] // head_num
            key_in, value_in = keys[:, n * kc:(n + 1) * kc], values[:, n * vc:(n + 1) * vc]
        else:
            key_in, value_in = keys, values
        q = torch.einsum('kc,bcl->bkl', query_w[rows, :, 0, 0], key_in) + query_b[rows, None]
        attention = torch.softmax(q, dim=-1)  # over the L positions, per class of this head
        v = torch.einsum('kc,bcl->bkl', value_w[rows, :, 0, 0], value_in) + value_b[rows, None]
        logits = logits + (attention * v).sum(dim=-1)
    return logits
