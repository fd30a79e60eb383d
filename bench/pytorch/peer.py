"""PyTorch eager peer: times MobileNeXt inference (or a training step) and prints JSON.

usage: peer.py infer <weights.pth> <width> <alpha> <batch> <threads> <iters> [<input.pt> <logits-out.pt>]
       peer.py detect <weights.pth> <batch> <threads> <iters> [<input.pt> <outputs.pt>]   (SSDLite320-MobileNeXt, raw heads)
       peer.py train <width> <batch> <threads> <iters> [nchw|channels_last] [relu6_in_place|relu6_out_of_place]
       peer.py data <image-folder> <workers> <batch>   (PIL decode + torchvision augmentation; images/s of one epoch;
                                                        workers 0: PIL's decode alone, one process)
"""
import json
import statistics
import sys
import time

import torch

from mobilenext import MobileNeXt


def timed(fn, iters, warmup=3):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main():
    mode = sys.argv[1]
    if mode == "infer":
        path, width, alpha, batch, threads, iters = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
        torch.set_num_threads(threads)
        model = MobileNeXt(width, alpha)
        model.load_state_dict(torch.load(path))
        model.eval()
        if len(sys.argv) > 9:  # the same-network check: logits for a given input
            with torch.no_grad():
                torch.save({"logits": model(torch.load(sys.argv[8])["input"])}, sys.argv[9])
        x = torch.randn(batch, 3, 224, 224)
        with torch.no_grad():
            seconds = timed(lambda: model(x), iters)
    elif mode == "detect":
        from ssdlite import SSDLite
        path, batch, threads, iters = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        torch.set_num_threads(threads)
        model = SSDLite()
        model.load_state_dict(torch.load(path))
        model.eval()
        if len(sys.argv) > 7:  # the same-network check: raw heads for a given input
            with torch.no_grad():
                scores, boxes = model(torch.load(sys.argv[6])["input"])
                torch.save({"scores": scores, "boxes": boxes}, sys.argv[7])
        x = torch.randn(batch, 3, 320, 320)
        with torch.no_grad():
            seconds = timed(lambda: model(x), iters)
    elif mode == "data":
        import torchvision.transforms as T
        from torchvision.datasets import ImageFolder
        folder, workers, batch = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        torch.set_num_threads(1)
        # The released recipe's training transform (architecture.md): Inception crop, flip, ColorJitter 0.4, ImageNet mean/std.
        transform = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4),
                               T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
        data = ImageFolder(folder, transform)
        if workers == 0:  # decode only, in this process: the loader's own PIL call, Image.open(p).convert("RGB")
            from torchvision.datasets.folder import pil_loader
            for p, _ in data.samples[:32]:  # warm-up: page cache
                pil_loader(p)
            t0 = time.perf_counter()
            for p, _ in data.samples:
                pil_loader(p)
            print(json.dumps({"torch": torch.__version__, "seconds": time.perf_counter() - t0, "images": len(data.samples)}))
            return
        loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=workers,
                                             persistent_workers=True, prefetch_factor=2)
        for _ in loader:  # warm-up epoch: worker start, page cache
            pass
        t0 = time.perf_counter()
        count = sum(x.shape[0] for x, _ in loader)
        seconds = time.perf_counter() - t0
        print(json.dumps({"torch": torch.__version__, "seconds": seconds, "images": count}))
        return
    else:
        width, batch, threads, iters = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        torch.set_num_threads(threads)
        model = MobileNeXt(width)
        model.train()
        if len(sys.argv) > 7 and sys.argv[7] == "relu6_out_of_place":  # what ConvLayers.Act does; 1.13 gained nothing from it
            for m in model.modules():
                if isinstance(m, torch.nn.ReLU6):
                    m.inplace = False
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
        x = torch.randn(batch, 3, 224, 224)
        y = torch.randint(0, 1000, (batch,))
        channels_last = len(sys.argv) > 6 and sys.argv[6] == "channels_last"
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)

        def step():
            opt.zero_grad()
            # The same trick as the C# side: only the input batch is channels-last, inside the timed step.
            inp = x.contiguous(memory_format=torch.channels_last) if channels_last else x
            loss_fn(model(inp), y).backward()
            opt.step()
        seconds = timed(step, iters, warmup=2)
    print(json.dumps({"torch": torch.__version__, "seconds": seconds}))


if __name__ == "__main__":
    main()
