"""Independent PyTorch count of DARTS's evaluation network (NetworkCIFAR) parameters.

Written from the facts of quark0/darts cnn/model.py (Cell, AuxiliaryHeadCIFAR, NetworkCIFAR) and cnn/operations.py
(OPS with affine=True); the genotype is DARTS_V2 of cnn/genotypes.py. Used to fix the numbers in
tests/MobileNeXt.Search.Tests/Network/EvalNetworkTests.cs.

    /usr/bin/python3 bench/darts_eval_params.py
"""
import torch
import torch.nn as nn

def relu_conv_bn(ci, co, k, s, p):
    return nn.Sequential(nn.ReLU(), nn.Conv2d(ci, co, k, s, p, bias=False), nn.BatchNorm2d(co))

def dil_conv(ci, co, k, s, p, d):
    return nn.Sequential(nn.ReLU(), nn.Conv2d(ci, ci, k, s, p, dilation=d, groups=ci, bias=False),
                         nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co))

class FactorizedReduce(nn.Module):
    def __init__(self, ci, co):
        super().__init__()
        self.relu = nn.ReLU()
        self.c1 = nn.Conv2d(ci, co // 2, 1, 2, bias=False)
        self.c2 = nn.Conv2d(ci, co // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(co)
    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.c1(x), self.c2(x[:, :, 1:, 1:])], 1))

def op(name, c, s):
    if name == 'max_pool_3x3': return nn.MaxPool2d(3, s, 1)
    if name == 'avg_pool_3x3': return nn.AvgPool2d(3, s, 1, count_include_pad=False)
    if name == 'skip_connect': return nn.Identity() if s == 1 else FactorizedReduce(c, c)
    if name == 'sep_conv_3x3': return nn.Sequential(dil_conv(c, c, 3, s, 1, 1), dil_conv(c, c, 3, 1, 1, 1))
    if name == 'sep_conv_5x5': return nn.Sequential(dil_conv(c, c, 5, s, 2, 1), dil_conv(c, c, 5, 1, 2, 1))
    if name == 'dil_conv_3x3': return dil_conv(c, c, 3, s, 2, 2)
    if name == 'dil_conv_5x5': return dil_conv(c, c, 5, s, 4, 2)
    raise ValueError(name)

class Cell(nn.Module):
    def __init__(self, edges, concat, cpp, cp, c, reduction, reduction_prev):
        super().__init__()
        self.pre0 = FactorizedReduce(cpp, c) if reduction_prev else relu_conv_bn(cpp, c, 1, 1, 0)
        self.pre1 = relu_conv_bn(cp, c, 1, 1, 0)
        self.ops = nn.ModuleList([op(n, c, 2 if reduction and i < 2 else 1) for n, i in edges])
        self.idx = [i for _, i in edges]
        self.concat = concat
        self.multiplier = len(concat)
    def forward(self, s0, s1):
        st = [self.pre0(s0), self.pre1(s1)]
        for k in range(len(self.ops) // 2):
            st.append(self.ops[2 * k](st[self.idx[2 * k]]) + self.ops[2 * k + 1](st[self.idx[2 * k + 1]]))
        return torch.cat([st[i] for i in self.concat], 1)

class AuxHead(nn.Module):
    def __init__(self, c, classes):
        super().__init__()
        self.features = nn.Sequential(nn.ReLU(), nn.AvgPool2d(5, 3, 0, count_include_pad=False),
                                      nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
                                      nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU())
        self.classifier = nn.Linear(768, classes)
    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))

class Net(nn.Module):
    def __init__(self, g, C=36, layers=20, classes=10, aux=True, cin=3):
        super().__init__()
        cc = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(cin, cc, 3, padding=1, bias=False), nn.BatchNorm2d(cc))
        cpp, cp, cc = cc, cc, C
        self.cells = nn.ModuleList()
        rp = False
        self.aux_at = 2 * layers // 3
        for i in range(layers):
            r = i in (layers // 3, 2 * layers // 3)
            if r: cc *= 2
            if r:
                cell = Cell(g['reduce'], g['reduce_concat'], cpp, cp, cc, True, rp)
            else:
                cell = Cell(g['normal'], g['normal_concat'], cpp, cp, cc, False, rp)
            rp = r
            self.cells.append(cell)
            cpp, cp = cp, cell.multiplier * cc
            if i == self.aux_at: caux = cp
        self.aux = AuxHead(caux, classes) if aux else None
        self.classifier = nn.Linear(cp, classes)
    def forward(self, x):
        s0 = s1 = self.stem(x)
        la = None
        for i, c in enumerate(self.cells):
            s0, s1 = s1, c(s0, s1)
            if i == self.aux_at and self.aux is not None: la = self.aux(s1)
        return self.classifier(s1.mean((2, 3))), la

DARTS_V2 = dict(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1),
            ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0),
            ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])

def count(m):
    return sum(p.numel() for p in m.parameters())

for (C, L, aux, cin) in [(36, 20, True, 3), (36, 20, False, 3), (16, 8, True, 1), (16, 8, False, 3)]:
    n = Net(DARTS_V2, C, L, 10, aux, cin)
    x = torch.zeros(2, cin, 32, 32)
    n.eval()
    y, ya = n(x)
    print(f"C={C} layers={L} aux={aux} in={cin}: params={count(n)} aux_head={count(n.aux) if aux else 0} logits={tuple(y.shape)} aux_logits={None if ya is None else tuple(ya.shape)}")
