#!/usr/bin/env bash
# Table 8 at small scale: SSDLite on MobileNeXt and on MobileNetV2 of the same width (0.5), trained from scratch on the
# built-in Fashion-MNIST scenes with the same budget (the detection-scenes preset: 1000 scenes of 160², 30 epochs of
# batch 16, the released recipe's SGD, warm-up and ×0.1 drops; positives from IoU 0.35, no zoom-out), then both evaluated on the same 200 validation scenes
# (AP per class, VOC07 11-point and all-point mAP@0.5, COCO mAP@[.5:.95]).
#
#   sudo apt-get install dataset-fashion-mnist
#   bash bench/table8-scenes.sh [report folder] [extra 'mobilenext train' options, e.g. --epochs 2]
#
# SCENES=fashion-scenes:<train>,<val> draws another number of scenes (a quick check: SCENES=fashion-scenes:32,16 with
# --epochs 1 --input-size 64 --batch-size 8).
# Each detector takes about a minute per epoch of 1000 scenes at 1 libtorch thread (measured: ~20 images/s for
# mobilenext_050 and ~24 for mobilenetv2_050 with other jobs on the 2 cores). On a busy machine add --threads 1: two
# threads competing with other processes ran the same epoch ~15x slower.
#
# BACKBONE=fashion-mnist first trains each backbone as a Fashion-MNIST classifier (the fashion-mnist preset: 32², 10
# epochs) and starts its detector from those weights (--init), as the paper starts from ImageNet-trained backbones.
#
# Resumable: run it again after Ctrl+C and each detector continues from its last.pth (a finished one is only evaluated).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/table8-scenes}
scenes=${SCENES:-fashion-scenes}
shift $(( $# > 0 ? 1 : 0 ))
dotnet build -c Release src/MobileNeXt.Cli -v quiet -nologo
cli() { dotnet run -c Release --no-build --project src/MobileNeXt.Cli -- "$@"; }
backbone=${BACKBONE:-none}
for model in mobilenext_050 mobilenetv2_050; do
  init=()
  if [[ "$backbone" == fashion-mnist ]]; then
    cls="$out/$model-fashion-mnist"
    if [[ ! -f "$cls/last.pth" ]]; then
      cli train --data fashion-mnist --preset fashion-mnist -m "$model" --threads 1 -o "$cls"
    elif [[ "$(wc -l < "$cls/metrics.jsonl")" -lt 10 ]]; then
      cli train --resume "$cls/last.pth"
    fi
    init=(--init "$cls/last.pth")
  fi
  dir="$out/$model"
  if [[ -f "$dir/last.pth" ]]; then
    cli train --task detection --resume "$dir/last.pth" "$@"
  else
    cli train --task detection --data "$scenes" --preset detection-scenes -m "$model" ${init[@]+"${init[@]}"} -o "$dir" "$@"
  fi
done
for model in mobilenext_050 mobilenetv2_050; do
  cli eval "$out/$model/last.pth" | tee "$out/$model/eval.txt"
done
