"""Stand-ins for the GPU that EECS 498 A5 fine-tunes its detectors on: on a CPU budget the
MobileNet backbone is split (`split_backbone`), its frozen part's outputs are computed once
(`CachedFeatureLoader`, optionally also for the mirrored images: `hflip_boxes`), a backbone
without ImageNet weights gets BatchNorm statistics of the detection images
(`recalibrate_batchnorm`), and `nms_fast` gives the greedy NMS result without a Python loop
step per kept box. `a5_helper` re-exports them for the notebooks.
"""
import numpy as np
import torch
import torch.nn as nn


def hflip_boxes(boxes, w_batch):
    """Mirror (B, N, >=4) pixel boxes left-right in images of widths w_batch (B,):
    (x1, x2) -> (w - x2, w - x1); rows of -1 padding stay -1."""
    out = boxes.clone()
    w = torch.as_tensor(w_batch, dtype=boxes.dtype).view(-1, 1)
    valid = boxes[..., 0] != -1
    out[..., 0] = torch.where(valid, w - boxes[..., 2], boxes[..., 0])
    out[..., 2] = torch.where(valid, w - boxes[..., 0], boxes[..., 2])
    return out


def split_backbone(feat_extractor, split_at=14):
    """Split FeatureExtractor's MobileNet v2 into (frozen, trainable) nn.Sequential parts.

    The frozen part's outputs can be cached once (CachedFeatureLoader(frozen, loader)); the
    trainable part then becomes the detector's feature extractor, so the last blocks of the
    backbone learn with the detection heads at a fraction of the cost of the full network.
    split_at=14 caches (B, 96, 14, 14) and trains blocks 14-18 (the 7 x 7 part).
    """
    m = feat_extractor.mobilenet
    if not 0 < split_at < len(m):
        raise ValueError(f"split_at must be in [1, {len(m) - 1}], got {split_at}")
    return m[:split_at], m[split_at:]


class CachedFeatureLoader:
    """Backbone features computed once, served like a VOC loader.

    Iterating yields (features (B, 1280, 7, 7), boxes, w_batch, h_batch, img_ids): with the
    detector's feature extractor swapped for nn.Identity, the detector trains its heads on a
    frozen backbone at a fraction of the cost (what the CPU budget allows).
    """

    def __init__(self, feat_extractor, loader, device='cpu', shuffle=True, seed=0, progress=True,
                 hflip=False):
        """hflip: also cache the features of every image mirrored left-right, with its boxes
        mirrored (x -> width - x): twice the training batches (data augmentation)."""
        from tqdm.auto import tqdm
        self.batches = []
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self.mirrored = []          # whether batch i holds mirrored images
        feat_extractor = feat_extractor.to(device).eval()
        with torch.no_grad():
            for images, boxes, w, h, ids in tqdm(loader, desc="backbone features", disable=not progress):
                self.batches.append((feat_extractor(images.to(device)).cpu(), boxes, w, h, ids))
                self.mirrored.append(False)
                if hflip:
                    self.batches.append((feat_extractor(images.flip(-1).to(device)).cpu(),
                                         hflip_boxes(boxes, w), w, h, ids))
                    self.mirrored.append(True)
        self.dataset = loader.dataset

    def eval_view(self):
        """The cached batches of the original (not mirrored) images, in order, for evaluation."""
        view = CachedFeatureLoader.__new__(CachedFeatureLoader)
        view.__dict__.update(self.__dict__, shuffle=False)
        view.batches = [b for b, m in zip(self.batches, self.mirrored) if not m]
        view.mirrored = [False] * len(view.batches)
        return view

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        order = (torch.randperm(len(self.batches), generator=self.generator).tolist()
                 if self.shuffle else range(len(self.batches)))
        for i in order:
            yield self.batches[i]


def recalibrate_batchnorm(feat_extractor, loader, max_batches=None, device='cpu'):
    """Re-estimate BatchNorm running statistics on `loader`'s images (cumulative average).

    A randomly initialised MobileNet's running statistics (mean 0, var 1) do not match its
    activations; recomputing them keeps the frozen random features well scaled.
    """
    bns = [m for m in feat_extractor.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    feat_extractor.to(device).train()
    with torch.no_grad():
        for i, (images, *_rest) in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            feat_extractor(images.to(device))
    for m, momentum in zip(bns, momenta):  # blocks trained later keep tracking their stats
        m.momentum = momentum
    feat_extractor.eval()


# Boxes resolved together by the crowded branch of nms_fast: each block's greedy pass is a
# Python loop over at most this many boxes, and every box left after the block is then tested
# against the block's kept boxes at once. Small blocks compact the candidates more often; 32-128
# measured alike (5,000 crowded boxes), 256 and more slower.
_NMS_BLOCK = 64


def _iou_cut(dtype, iou_threshold):
    """The largest value t of the float `dtype` with t <= iou_threshold: for an IoU v of that
    dtype, v > t exactly when float64(v) > iou_threshold (no value of the dtype lies between
    t and the threshold), so IoUs are compared as torchvision does, in float64, without
    converting each of them. (NumPy would compare a float32 array with a Python float in
    float32, rounding 0.3 up to 0.30000001.)"""
    t = np.asarray(iou_threshold, dtype=dtype)[()]
    if float(t) > iou_threshold:
        t = np.nextafter(t, dtype.type(-np.inf))
    return t


def _iou_hits(a, b, cut):
    """a, b: (x1, y1, x2, y2, area) column arrays broadcasting to (p, q) -> (p, q) bool,
    IoU > cut, by torchvision.ops.nms's arithmetic: inter / (area_a + area_b - inter) in the
    boxes' dtype."""
    w = np.minimum(a[2], b[2]) - np.maximum(a[0], b[0])
    h = np.minimum(a[3], b[3]) - np.maximum(a[1], b[1])
    inter = np.maximum(w, 0, out=w)
    inter *= np.maximum(h, 0, out=h)
    union = a[4] + b[4]
    union -= inter
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 for two empty boxes: NaN
        return np.divide(inter, union, out=inter) > cut


def _nms_blocked(boxes, order, iou_threshold, topk):
    """Greedy NMS of boxes (a torch (N, 4) tensor) in rank order `order`, a block of ranked
    candidates at a time: the block's own greedy pass (sequential, on its overlap matrix of at
    most _NMS_BLOCK x _NMS_BLOCK), then one (block's kept x remaining candidates) IoU matrix
    removes every later candidate a kept box suppresses. Each box that enters a block has
    survived every box kept before it, so the result is the greedy one; the Python loop runs
    once per block, and the candidates shrink fast when boxes are crowded.
    -> the kept indices into boxes, in rank order.

    In numpy (torchvision's CPU nms, too, is for float32 and float64 only; other dtypes are
    computed in float64): on a busy CPU, torch's two-thread kernels on these small arrays
    spent most of their time waiting for each other.
    """
    ranked = boxes.detach()[order].cpu()
    if ranked.dtype not in (torch.float32, torch.float64):
        ranked = ranked.double()
    ranked = ranked.numpy()
    x1, y1, x2, y2 = (np.ascontiguousarray(ranked[:, c]) for c in range(4))
    cols = (x1, y1, x2, y2, (x2 - x1) * (y2 - y1))
    cut = _iou_cut(ranked.dtype, iou_threshold)
    alive = np.arange(len(ranked))  # ranks of the candidates left
    kept, n_kept = [], 0
    while alive.size and (topk is None or n_kept < topk):
        block, alive = alive[:_NMS_BLOCK], alive[_NMS_BLOCK:]
        bc = tuple(c[block] for c in cols)
        # hits[i, j]: block boxes i and j overlap; a kept i suppresses the j after it (the
        # entries j <= i of its row change only boxes already decided)
        hits = _iou_hits(tuple(c[:, None] for c in bc), bc, cut)
        suppressed = np.zeros(len(block), dtype=bool)
        keep_in_block = []
        for i in range(len(block)):
            if not suppressed[i]:
                keep_in_block.append(i)
                suppressed |= hits[i]
        k = block[keep_in_block]
        kept.append(k)
        n_kept += k.size
        if alive.size:
            hit = _iou_hits(tuple(c[k, None] for c in cols), tuple(c[alive] for c in cols), cut)
            alive = alive[~hit.any(0)]
    keep = order[torch.from_numpy(np.concatenate(kept)).to(order.device)]
    return keep if topk is None else keep[:topk]


def _x_overlap_counts(boxes, on_host):
    """Boxes sorted by x_tl and, for each, how many later ones start before it ends: box p (in x
    order) can only overlap boxes q > p with x1[q] < x2[p].
    -> by_x: (N,) int64 order, counts: (N,) int64, both on the boxes' device.

    on_host: in numpy (float64 holds every float32, float16 and bfloat16 exactly, so the order
    and the comparisons are those of the boxes' dtype): on a busy CPU, torch's two-thread sort,
    gather and searchsorted of a few thousand entries each waited milliseconds. Otherwise in
    torch, so that boxes on an accelerator never cross to the host.
    """
    n = boxes.shape[0]
    if on_host:
        x = boxes[:, ::2].detach().cpu().double().numpy()
        by_x = np.argsort(x[:, 0], kind="stable")
        x_sorted = x[by_x]
        counts = np.searchsorted(x_sorted[:, 0], x_sorted[:, 1], side="left") - np.arange(1, n + 1)
        return torch.from_numpy(by_x).to(boxes.device), torch.from_numpy(counts).to(boxes.device)
    x = boxes[:, ::2].detach()
    by_x = torch.sort(x[:, 0], stable=True)[1]
    x_sorted = x[by_x]
    counts = torch.searchsorted(x_sorted[:, 0].contiguous(), x_sorted[:, 1].contiguous(),
                                side="left") - torch.arange(1, n + 1, device=boxes.device)
    return by_x, counts


def nms_fast(boxes, scores, iou_threshold=0.5, topk=None):
    """Greedy non-maximum suppression without a Python loop step per kept box.

    Same inputs and output as single_stage_detector.nms: boxes (N, 4) (x_tl, y_tl, x_br,
    y_br), scores (N,); returns the int64 indices of the kept boxes in decreasing order of
    score (ties: lower index first, like torchvision.ops.nms).

    How: 1. rank the boxes by score (stable sort); 2. find the pairs that overlap by more than
    the threshold: sorted by x_tl, box p can only overlap the next few boxes p+1 .. p+D
    (np.searchsorted), and a (boxes x D) band of IoUs built from strided views
    (Tensor.unfold) covers all such pairs; 3. the greedy result is the unique fixed point of
    "a box is kept iff no kept, higher-ranked box overlaps it": start from "all kept" and
    apply this rule to every box at once until nothing changes. When boxes are so crowded
    that the band would be nearly the full N x N matrix, greedy NMS a block of boxes at a
    time (_nms_blocked) instead.
    """
    if boxes.dim() != 2 or boxes.shape[-1] != 4 or scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"boxes must be (N, 4) and scores (N,), got {tuple(boxes.shape)} and "
                         f"{tuple(scores.shape)}")
    if (not boxes.numel()) or (not scores.numel()):
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        raise ValueError(f"boxes: box {boxes[bad][0].tolist()} has x2 < x1 or y2 < y1")
    n, dev = boxes.shape[0], boxes.device
    order = torch.sort(scores, descending=True, stable=True)[1]
    if iou_threshold < 0:  # every pair "overlaps" (IoU >= 0 > threshold): only the best stays
        return order[:1]
    by_x, counts = _x_overlap_counts(boxes, on_host=boxes.device.type == "cpu")
    D = int(counts.max())
    if D > 1024:
        # Crowded boxes: the band would be nearly all pairs, and the fixed point takes many
        # rounds; greedy a block at a time is cheaper, as each kept box removes many others.
        return _nms_blocked(boxes, order, iou_threshold, topk)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=dev)
    bx, rk = boxes[by_x], rank[by_x]
    x1, y1, x2, y2 = (bx[:, c].contiguous() for c in range(4))
    area = (x2 - x1) * (y2 - y1)
    src, dst = [], []
    if D > 0:
        band = [torch.cat([t, t.new_zeros(D)]).unfold(0, D + 1, 1)[:, 1:]
                for t in (x1, y1, x2, y2, area)]                      # (n, D) views: box p + d
        offsets = torch.arange(1, D + 1, device=dev)
        rows = max(1, 2 ** 21 // D)
        for lo in range(0, n, rows):  # row chunks bound the memory when many boxes overlap
            sl = slice(lo, lo + rows)
            qx1, qy1, qx2, qy2, qa = (t[sl] for t in band)
            w = (torch.minimum(qx2, x2[sl, None]) - torch.maximum(qx1, x1[sl, None])).clamp_(min=0)
            h = (torch.minimum(qy2, y2[sl, None]) - torch.maximum(qy1, y1[sl, None])).clamp_(min=0)
            inter = w.mul_(h)
            # torchvision's arithmetic: float IoU, compared with the threshold in float64
            hit = (inter / (area[sl, None] + qa - inter)).double() > iou_threshold
            hit &= offsets[None, :] <= counts[sl, None]
            r, d = torch.nonzero(hit, as_tuple=True)
            p = r + lo
            rp, rq = rk[p], rk[p + d + 1]
            src.append(torch.minimum(rp, rq))      # the higher-scoring box of the pair ...
            dst.append(torch.maximum(rp, rq))      # ... may suppress the other one
    kept = torch.ones(n, dtype=torch.bool, device=dev)
    if src:
        src, dst = torch.cat(src), torch.cat(dst)
        while True:
            suppressed = torch.zeros(n, dtype=torch.bool, device=dev)
            suppressed[dst[kept[src]]] = True
            if torch.equal(~suppressed, kept):
                break
            kept = ~suppressed
    keep = order[kept]  # kept is indexed by rank, so this is in decreasing score order
    if topk is not None:
        keep = keep[:topk]
    return keep
