"""SSDLite320 on MobileNeXt in PyTorch, the peer for the detection benchmark.

Written here from the facts of the authors' released detector as this repository records them (taps, extras, heads,
state_dict layout; MobileNeXt.Detection's sources cite them), on this folder's own MobileNeXt, so that one weights file
gives the same detector in TorchSharp and in PyTorch. The benchmark checks both give the same raw outputs first.
"""
import torch
import torch.nn as nn

from mobilenext import MobileNeXt

# (in, hidden, out) of the four extra layers; in of the first is the backbone's last width.
EXTRAS = [(1280, 256, 512), (512, 128, 256), (256, 128, 256), (256, 128, 128)]
PRIORS_PER_LOCATION = 6  # min square, sqrt(min*max) square, aspect ratios 2 and 3 both ways


def extra(i, h, o):
    # keys 0, 1, 3, 4, 5, 6: dw s2 + BN + ReLU6, linear pw + BN, pw + BN + ReLU6
    return nn.Sequential(nn.Conv2d(i, i, 3, 2, 1, groups=i, bias=False), nn.BatchNorm2d(i), nn.ReLU6(inplace=True),
                         nn.Conv2d(i, h, 1, bias=False), nn.BatchNorm2d(h),
                         nn.Conv2d(h, o, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU6(inplace=True))


class Separable(nn.Module):
    # keys conv.0, conv.1, conv.3: dw (bias) + BN + ReLU6, pw (bias)
    def __init__(self, i, o):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(i, i, 3, 1, 1, groups=i), nn.BatchNorm2d(i), nn.ReLU6(inplace=True),
                                  nn.Conv2d(i, o, 1))

    def forward(self, x):
        return self.conv(x)


class Backbone(nn.Module):
    def __init__(self, width, taps):
        super().__init__()
        self.features = MobileNeXt(width).features
        self.taps = taps  # the two blocks tapped before their last dw + BN (strides 16 and 32)
        last = self.features[-1].conv[-2].out_channels
        self.extras = nn.ModuleList([extra(last if k == 0 else i, h, o) for k, (i, h, o) in enumerate(EXTRAS)])

    def forward(self, x):
        maps = []
        for idx, block in enumerate(self.features):
            if idx in self.taps:  # neither tapped block has a shortcut
                t = block.conv[:-2](x)
                maps.append(t)
                x = block.conv[-2:](t)
            else:
                x = block(x)
        for e in self.extras:
            x = e(x)
            maps.append(x)
        return maps


class Predictor(nn.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.classes = classes
        k = PRIORS_PER_LOCATION
        self.cls_headers = nn.ModuleList([Separable(c, k * classes) for c in channels[:-1]] + [nn.Conv2d(channels[-1], k * classes, 1)])
        self.reg_headers = nn.ModuleList([Separable(c, k * 4) for c in channels[:-1]] + [nn.Conv2d(channels[-1], k * 4, 1)])

    def forward(self, maps):
        n = maps[0].shape[0]
        scores = torch.cat([h(m).permute(0, 2, 3, 1).reshape(n, -1, self.classes) for h, m in zip(self.cls_headers, maps)], 1)
        boxes = torch.cat([h(m).permute(0, 2, 3, 1).reshape(n, -1, 4) for h, m in zip(self.reg_headers, maps)], 1)
        return scores, boxes


class BoxHead(nn.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.predictor = Predictor(channels, classes)


class SSDLite(nn.Module):
    """Returns the raw class logits (N x priors x classes) and box regressions (N x priors x 4)."""

    def __init__(self, width=1.0, classes=21):
        super().__init__()
        self.backbone = Backbone(width, taps=(13, 20))
        f = self.backbone.features
        # the tapped maps are the inputs of the tapped blocks' last dw
        channels = [f[t].conv[-2].in_channels for t in self.backbone.taps] + [o for _, _, o in EXTRAS]
        self.box_head = BoxHead(channels, classes)

    def forward(self, x):
        return self.box_head.predictor(self.backbone(x))
