"""The fit behind the table of nbs/22_numerics: 2 epochs of ResNet-8 on 1,000 CIFAR-10-LT images (smoke profile).

  python tools/numerics_fit.py                                  # this machine, the portable pins
  LTMOO_CPU_NUMERICS=native ATEN_CPU_CAPABILITY=default python tools/numerics_fit.py

Prints the numerics in force, the training loss of each epoch and the final top-1. Needs `ltmoo prepare-data`.
"""
import json, tempfile
from pathlib import Path
from ltmoo.train import run_config, fit
from ltmoo.numerics import numerics_info

cfg = run_config('smoke', 'ce', {'data': {'train_subset': 1000, 'test_subset': 500},
                                 'train': dict(model='resnet8', epochs=2, batch_size=64, lr=0.1, warmup_epochs=1,
                                               milestones=[2], lr_factors=[0.1], device='cpu', progress=False)})
with tempfile.TemporaryDirectory() as d:
    m = fit(cfg, Path(d)/'run')
    import pandas as pd
    loss = pd.read_csv(Path(d)/'run'/'history.csv').train_loss.tolist()
print(json.dumps(dict(numerics=numerics_info(), train_loss=loss, acc=m['acc'])))
