"""Packs a MobileNeXt-dagger fixture folder's .npy reference vectors (input, logits, features, as the authors' code wrote
them) into one vectors.pt of float32 tensors that ModelWeights.Read loads. Run from this folder with Debian's
/usr/bin/python3 (PyTorch 1.13):
    python3 make_se_vectors.py mobilenext_se_b0
    python3 make_se_vectors.py mobilenext_se_b1
"""
import sys

import numpy as np
import torch

folder = sys.argv[1]
vectors = {name: torch.from_numpy(np.load(f"{folder}/{name}.npy")).contiguous() for name in ("input", "logits", "features")}
torch.save(vectors, f"{folder}/vectors.pt")
