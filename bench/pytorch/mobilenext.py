"""MobileNeXt in PyTorch, the peer for this repository's benchmarks.

Written here from the facts of the released network (stage table, channel rules, block layouts,
identity tensor multiplier; see the MobileNeXt.Core sources, which cite them), so that the same
weights file gives the same network in TorchSharp and in PyTorch. The benchmark checks that both
produce the same logits before it times anything.
"""
import math

import torch
import torch.nn as nn

# Table 2 (t, c, n, s), with n = 3 for the 960 stage as in the released code.
STAGES = [(2, 96, 1, 2), (6, 144, 1, 1), (6, 192, 3, 2), (6, 288, 3, 2),
          (6, 384, 4, 1), (6, 576, 4, 2), (6, 960, 3, 1), (6, 1280, 1, 1)]


def make_divisible(v, d=8):
    r = max(d, int(v + d / 2) // d * d)
    return r + d if r < 0.9 * v else r


def conv(i, o, k, s=1, groups=1):
    return nn.Conv2d(i, o, k, s, k // 2, groups=groups, bias=False)


class Sandglass(nn.Module):
    def __init__(self, i, o, s, t, keep3x3, alpha):
        super().__init__()
        h = i // t
        if h < o / 6:
            h = make_divisible(math.ceil(o / 6), 16)
        if t == 2:
            first, last, self.shortcut = True, True, False
        elif i != o and not keep3x3:
            first, last, self.shortcut = False, s != 1, False
        else:
            first, last, self.shortcut = True, True, (not keep3x3) and s == 1
        layers = []
        if first:
            layers += [conv(i, i, 3, groups=i), nn.BatchNorm2d(i), nn.ReLU6(inplace=True)]
        layers += [conv(i, h, 1), nn.BatchNorm2d(h), conv(h, o, 1), nn.BatchNorm2d(o), nn.ReLU6(inplace=True)]
        if last:
            layers += [conv(o, o, 3, s, groups=o), nn.BatchNorm2d(o)]
        self.conv = nn.Sequential(*layers)
        self.k = int(math.floor(alpha * o * (1 + 1e-9)))

    def forward(self, x):
        y = self.conv(x)
        if not self.shortcut or self.k == 0:
            return y
        if self.k == y.shape[1]:
            return y + x
        return torch.cat([y[:, :self.k] + x[:, :self.k], y[:, self.k:]], 1)


class MobileNeXt(nn.Module):
    def __init__(self, width=1.0, alpha=1.0, classes=1000):
        super().__init__()
        c_in = make_divisible(32 * width)
        layers = [nn.Sequential(conv(3, c_in, 3, 2), nn.BatchNorm2d(c_in), nn.ReLU6(inplace=True))]
        for idx, (t, c, n, s) in enumerate(STAGES):
            c_out = c if (idx == len(STAGES) - 1 and width < 1) else make_divisible(c * width)
            for j in range(n):
                layers.append(Sandglass(c_in, c_out, s if j == 0 else 1, t, n == 1 and s == 1 and j == 0, alpha))
                c_in = c_out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(c_in, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
