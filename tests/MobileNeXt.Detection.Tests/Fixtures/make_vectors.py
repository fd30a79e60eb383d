"""Packs the SSDLite320-MobileNeXt fixture's .npy reference arrays (input, scores, boxes, priors, as the authors' code
wrote them) into one vectors.pt of float32 tensors that ModelWeights.Read loads, so the tests need no .npy reader.
Run from this folder with Debian's /usr/bin/python3 (PyTorch 1.13):
    python3 make_vectors.py ssdlite320_mobilenext_voc
"""
import sys

import numpy as np
import torch

folder = sys.argv[1]
vectors = {name: torch.from_numpy(np.load(f"{folder}/{name}.npy")).contiguous() for name in ("input", "scores", "boxes", "priors")}
torch.save(vectors, f"{folder}/vectors.pt")
