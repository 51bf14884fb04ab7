"""Helpers shared by the KernelWarehouse backbones."""
from typing import List

import torch.nn as nn

from ..ops.warehouse_manager import WarehouseManager

__all__ = ['frozen_warehouses', 'set_temperature']


def frozen_warehouses(manager: WarehouseManager, network: nn.Module, frozen: List[nn.Module]) -> List[nn.Module]:
    """Holders of the warehouses whose every layer lies inside ``frozen`` (so they can be frozen too)."""
    inside = {id(m) for mod in frozen for m in mod.modules()}
    layers = manager.layers(network)
    holders: List[nn.Module] = []
    for wid, weight in enumerate(manager.weights):
        users = [layer for layer in layers if layer.warehouse_id == wid]
        if users and all(id(layer) in inside for layer in users):
            holder = nn.Module()
            holder.register_parameter('w', weight)
            holders.append(holder)
    return holders


def set_temperature(network: nn.Module, value: float) -> None:
    """Call ``update_temperature(value)`` on every dynamic layer of ``network`` (ODConv T or KW tau)."""
    for m in network.modules():
        if hasattr(m, 'update_temperature') and m is not network:
            m.update_temperature(value)
