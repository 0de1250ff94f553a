#!/usr/bin/env python
"""How many training images per second the CPU side of the streamed path (ImageNet-LT / iNat) delivers.

Writes `--n` JPEG files of ImageNet's typical size (500x375, smooth content plus noise, quality 90: about the file
size of an ImageNet photo), then times `ltmoo.data.ViewDataset` through a DataLoader with `--workers` processes
(keyed samples, as the trainer feeds it) for the view sets the methods ask for: CE's one `regular` view, with and
without RandAugment, and BCL/GBG's three views (`regular`, `sim`, `sim`, RandAugment), plus the evaluation crop
(`LazyImages`). The rate per worker tells how many CPU cores each GPU needs to be kept busy.

    python tools/bench_loader.py --workers 0 --out results/bench/loader_1core.json
    python tools/bench_loader.py --workers 8 --n 2000 --out results/bench/loader_8workers.json
"""
from __future__ import annotations
import argparse, tempfile, time, datetime, platform, os
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from ltmoo.core import write_json, resolve
from ltmoo.runs import hardware, git_commit
from ltmoo.data import ViewDataset, LazyImages, sample_key

SETS = {'ce (regular)': (('regular',), False), 'ce + RandAugment': (('regular',), True),
        'bcl / gbg (regular, sim, sim, RandAugment)': (('regular', 'sim', 'sim'), True)}


def write_jpegs(folder:Path, n:int, w:int=500, h:int=375, seed:int=0) -> list:
    "n JPEGs of w x h with smooth structure and mild noise (quality 90); their relative paths."
    rng = np.random.RandomState(seed); paths = []
    for i in range(n):
        small = rng.randint(0, 256, (12, 16, 3)).astype(np.uint8)
        img = np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC)).astype(np.int16)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        p = f'img_{i:05d}.jpg'; Image.fromarray(img).save(folder/p, quality=90); paths.append(p)
    return paths


def rate(ds, keys:list, workers:int, batch:int) -> float:
    "Items per second of `ds` over `keys` through a DataLoader (the first batch, worker start-up, not timed)."
    batches = [keys[i:i + batch] for i in range(0, len(keys), batch)]
    dl = torch.utils.data.DataLoader(ds, batch_sampler=batches, num_workers=workers)
    it = iter(dl); next(it); t0 = time.perf_counter(); n = 0
    for _, y in it: n += len(y)
    return n / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=256); ap.add_argument('--workers', type=int, default=0)
    ap.add_argument('--batch', type=int, default=32); ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--out', default='results/bench/loader.json')
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp); paths = write_jpegs(root, a.n)
        kb = np.mean([(root/p).stat().st_size for p in paths]) / 1024
        keys = [(i, sample_key(0, 0, i // a.batch, i % a.batch)) for i in range(a.n)]
        labels = torch.zeros(a.n, dtype=torch.long)
        rows = []
        for name, (views, ra) in SETS.items():
            r = rate(ViewDataset(root, paths, labels, views, a.size, int(a.size * 8 / 7), ra), keys, a.workers, a.batch)
            rows.append(dict(views=name, images_per_s=r)); print(f"{name:>45}: {r:8.1f} img/s", flush=True)
        lazy = LazyImages(root, paths, a.size, int(a.size * 8 / 7), threads=max(1, a.workers))
        t0 = time.perf_counter(); [lazy[i:i + a.batch] for i in range(0, a.n, a.batch)]
        r = a.n / (time.perf_counter() - t0)
        rows.append(dict(views=f'evaluation crop (LazyImages, {max(1, a.workers)} threads)', images_per_s=r))
        print(f"{rows[-1]['views']:>45}: {r:8.1f} img/s")
    out = dict(what='CPU-side images/s of the streamed training path (decode + augment), synthetic 500x375 JPEGs',
               n=a.n, mean_file_kib=kb, workers=a.workers, crop=a.size, hardware=hardware(), cpu_count=os.cpu_count(),
               commit=git_commit(), torch=torch.__version__, python=platform.python_version(),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'), rows=rows)
    write_json(out, resolve(a.out)); print(resolve(a.out))


if __name__ == '__main__': main()
