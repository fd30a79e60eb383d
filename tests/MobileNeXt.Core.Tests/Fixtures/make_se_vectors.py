"""Packs a MobileNeXt-dagger reference folder's .npy vectors into one vectors.pt (float32 tensors input, logits,
features) that ModelWeights.Read loads, and copies its state_dict.pt. Run with Debian's /usr/bin/python3 (PyTorch 1.13):
    python3 make_se_vectors.py /work/shared/reference/mobilenext_dagger_b0 mobilenext_se_b0
"""
import shutil
import sys

import numpy as np
import torch

src, dst = sys.argv[1], sys.argv[2]
vectors = {name: torch.from_numpy(np.load(f"{src}/{name}.npy")).contiguous() for name in ("input", "logits", "features")}
torch.save(vectors, f"{dst}/vectors.pt")
shutil.copyfile(f"{src}/state_dict.pt", f"{dst}/state_dict.pt")
shutil.copyfile(f"{src}/manifest.json", f"{dst}/manifest.json")
