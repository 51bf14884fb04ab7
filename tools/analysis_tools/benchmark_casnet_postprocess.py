"""Cost of CASNet's clustering post-process per image (CPU or GPU), at e.g. 512x1024 input.

The head outputs (semantic logits, box distances, quality, centre offsets at stride 4) are synthetic but shaped as
a trained network's: ``--instances`` rectangles of random size whose cells predict their instance's box and centre
with noise, plus stuff elsewhere. Times: the clustering at stride 4 (seeding + assignment + class/score), the
resizing to the input resolution, the hole filling, and the whole ``CASNet.predict`` post-process, each as the
median wall and CPU (process) time of ``--iters`` runs. Example::

    python tools/analysis_tools/benchmark_casnet_postprocess.py --height 512 --width 1024 --instances 20
"""
import argparse
import json
import statistics
import time

import torch
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope

import mmext  # noqa: F401
from mmext.det.cas_clustering import fill_holes


def measure(fn, warmup: int, iters: int) -> dict:
    """Median wall and CPU (process) milliseconds per call; on a shared machine the CPU time is the stable one."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(iters):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return dict(wall_ms=round(statistics.median(wall), 1), cpu_ms=round(statistics.median(cpu), 1))


def synthetic_outputs(model, h: int, w: int, n: int, seed: int = 0):
    """Head outputs of one image with ``n`` rectangular instances (noisy attributes)."""
    g = torch.Generator().manual_seed(seed)
    head = model.attribute_head
    s = head.stride
    hc, wc = h // s, w // s
    t = model.num_things
    sem = torch.full((1, t + model.num_stuff, hc, wc), -4.)
    sem[:, t] = 4.
    cx, cy = head.cell_centres(hc, wc, torch.device('cpu'))
    dist = torch.rand((1, 4, hc, wc), generator=g) * 8 + 1
    centre = torch.zeros((1, 2, hc, wc))
    for _ in range(n):
        bw, bh = [int(v) for v in torch.randint(4, max(5, wc // 4), (2, ), generator=g)]
        x0 = int(torch.randint(0, wc - bw, (1, ), generator=g))
        y0 = int(torch.randint(0, hc - bh, (1, ), generator=g))
        m = torch.zeros((hc, wc), dtype=torch.bool)
        m[y0:y0 + bh, x0:x0 + bw] = True
        lab = int(torch.randint(0, t, (1, ), generator=g))
        sem[0, :, m] = -4.
        sem[0, lab, m] = 4.
        x1, y1, x2, y2 = x0 * s, y0 * s, (x0 + bw) * s, (y0 + bh) * s
        noise = torch.randn((4, int(m.sum())), generator=g)
        dist[0, 0, m], dist[0, 1, m] = cx[m] - x1 + noise[0], cy[m] - y1 + noise[1]
        dist[0, 2, m], dist[0, 3, m] = x2 - cx[m] + noise[2], y2 - cy[m] + noise[3]
        centre[0, 0, m], centre[0, 1, m] = (x1 + x2) / 2 - cx[m], (y1 + y2) / 2 - cy[m]
    return dict(seg_preds=sem), dict(dist=dist.clamp(min=0.5), quality=torch.randn((1, 1, hc, wc), generator=g),
                                     centre=centre)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--height', type=int, default=512)
    parser.add_argument('--width', type=int, default=1024)
    parser.add_argument('--instances', type=int, default=20)
    parser.add_argument('--things', type=int, default=8, help='thing classes (Cityscapes: 8)')
    parser.add_argument('--stuff', type=int, default=11, help='stuff classes (Cityscapes: 11)')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    args = parser.parse_args()
    init_default_scope('mmdet')
    model = MODELS.build(dict(
        type='CASNet',
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(0, 1, 2, 3), init_cfg=None),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=4),
        semantic_head=dict(type='CASSemanticHead', num_things_classes=args.things, num_stuff_classes=args.stuff,
                           in_channels=16, inner_channels=16, norm_cfg=dict(type='GN', num_groups=4)),
        attribute_head=dict(type='CASAttributeHead', in_channels=16, feat_channels=16,
                            norm_cfg=dict(type='GN', num_groups=4)),
        test_cfg=dict(outputs=('instance', 'panoptic'))))
    model.eval()
    h, w = args.height, args.width
    sem_out, attr_out = synthetic_outputs(model, h, w, args.instances)
    model._heads = lambda inputs: (sem_out, attr_out)
    dec = model.attribute_head.decode(attr_out)
    probs = sem_out['seg_preds'].softmax(1)
    quality = attr_out['quality'].sigmoid()[:, 0]
    meta = dict(img_shape=(h, w), ori_shape=(h, w), batch_input_shape=(h, w))

    from mmdet.structures import DetDataSample

    def cluster():
        return model._cluster_one(probs[0], quality[0], dec['boxes'][0], dec['centres'][0], (h, w))

    labels_map, labels = cluster()[:2]

    def resize():
        full = model._resize_logits(sem_out['seg_preds'], (h, w), meta, True).softmax(0)
        return full, model._resize_labels(labels_map, (h, w), meta, True)

    _, inst_map = resize()
    inst_np = inst_map.numpy()

    def whole():
        return model.predict(torch.zeros(1, 3, h, w), [DetDataSample(metainfo=meta)])

    with torch.no_grad():
        res = dict(cluster=measure(cluster, args.warmup, args.iters), resize=measure(resize, args.warmup, args.iters),
                   fill_holes=measure(lambda: fill_holes(inst_np), args.warmup, args.iters),
                   whole_postprocess=measure(whole, args.warmup, args.iters))
    pred = whole()[0]
    print(json.dumps(dict(
        input=[h, w], head_cells=list(labels_map.shape), instances_drawn=args.instances,
        instances_found=int(len(pred.pred_instances)), torch_threads=torch.get_num_threads(),
        median_per_image=res), indent=2))


if __name__ == '__main__':
    main()
