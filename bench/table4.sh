#!/usr/bin/env bash
# Table 4 at small scale: MobileNeXt-0.35 and MobileNetV2-0.35 trained with the Fashion-MNIST sample's recipe, seed
# and budget, then quantized to INT8 with every calibration method and evaluated in ONNX Runtime.
#
#   bash bench/table4.sh [runs folder] [epochs]
#
# Training is resumable (run it again after Ctrl+C); each model takes ~13 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/table4}
epochs=${2:-10}
mkdir -p "$runs"
for model in mobilenext_035 mobilenetv2_035; do
  if [ ! -f "$runs/$model/done" ]; then
    dotnet run -c Release --project samples/FashionMnist -- "$epochs" "$runs/$model" "" "$model"
    touch "$runs/$model/done"
  fi
done
