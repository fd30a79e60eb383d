#!/usr/bin/env bash
# Table 9 at small scale on Fashion-MNIST (centred on 32², DARTS's augmentation): a first-order DARTS search in each of
# the three spaces (DARTS's operators; plus the sandglass block; plus the inverted residual block), then each derived
# cell trained with DARTS's evaluation recipe (SGD 0.025 cosine, momentum 0.9, wd 3e-4, auxiliary 0.4, drop-path 0.2,
# cutout 16, clip 5) and tested.
#
#   bash bench/table9-fashion.sh [output folder]
#
# Budget (a 2-core CPU; DARTS itself: 50 search epochs of 8 cells × 16 channels at batch 64 on 25k+25k CIFAR images,
# then 600 epochs of 20 cells × 36 channels). Step times measured on an idle 2-core machine:
#   search: 8 cells → 5, 16 channels → 8, batch 32, the first 1,920 training images (960 per half, 30 steps per
#           epoch), 10 epochs = 300 steps, 1 libtorch thread (so a second core stays free); DARTS's full-size
#           search step takes ~17 s on 2 threads here, this one ~3-4 s, so ~20 min per space.
#   train:  `mobilenext train --genotype` (the trainer's loop with DARTS's evaluation recipe), 8 cells × 16 channels
#           (DartsEvalOptions.FashionMnistSmall's size), batch 96, 10 epochs of 104 steps (~10,000 images per epoch,
#           drawn from all 60,000), tested on all 10,000 test images after every epoch. Measured: 2.0–2.7 min per
#           epoch on 2 threads with the cores otherwise idle for the 0.30–0.37 M-parameter cells, and 3.7–5.3 min
#           for the 0.52 M darts+ir cell beside other work, so 20–50 min per cell.
#   Searches measured at 20–26 min per space beside other runs. About 2 h 40 min in all. With 300 steps α moves little from uniform (its Adam lr is DARTS's 3e-4), so the
#   three genotypes compare the spaces only weakly: read the α heat maps (search-<space>/alphas.png) next to the
#   accuracies.
#
# Resumable: run it again after Ctrl+C. A search continues from its search.pth; a training continues from its
# last.pth; a finished one is not trained again.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/table9-fashion}
mkdir -p "$out"
dotnet build -c Release src/MobileNeXt.Cli >/dev/null
mnx() { dotnet src/MobileNeXt.Cli/bin/Release/net10.0/mobilenext.dll "$@"; }

for space in darts darts+sandglass darts+ir; do
  mnx search --space "$space" --data fashion-mnist --order 1 --epochs 10 --limit 1920 --batch-size 32 \
    --channels 8 --layers 5 --threads 1 --out "$out/search-$space"
done

for space in darts darts+sandglass darts+ir; do
  run="$out/train-$space"
  if [ -f "$run/metrics.jsonl" ] && [ "$(wc -l < "$run/metrics.jsonl")" -ge 10 ]; then echo "$space: trained already ($run)"; continue; fi
  if [ -f "$run/last.pth" ]; then mnx train --resume "$run/last.pth"; continue; fi
  mnx train --genotype "$out/search-$space/genotype.json" --data fashion-mnist --epochs 10 --steps-per-epoch 104 \
    --batch-size 96 --channels 16 --layers 8 --threads 2 --output "$run"
done

echo "space             parameters  test top-1  (last epoch; best)"
for space in darts darts+sandglass darts+ir; do
  /usr/bin/env python3 - "$space" "$out/train-$space" <<'PY'
import json, sys
run = sys.argv[2]
network = json.load(open(f"{run}/network.json"))
epochs = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
print(f"{sys.argv[1]:<17} {network['parameters']:>10,}  {epochs[-1]['top1']:.2f}%  ({max(e['top1'] for e in epochs):.2f}%)")
PY
done
