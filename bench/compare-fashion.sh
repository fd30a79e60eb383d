#!/usr/bin/env bash
# The paper's comparisons that fit on a 2-core machine, on Fashion-MNIST with the fashion-mnist preset (10 epochs),
# every network at width 0.35: MobileNeXt vs MobileNetV2 (Table 3), the identity multiplier α = 1, 1/2, 1/6 (Table 7),
# MobileNetV2 with an extra depthwise conv (Table 5) and the Fig. 4 block variants (Table 10), with INT8 accuracy.
#
#   bash bench/compare-fashion.sh [report folder]
#
# Resumable: run it again after Ctrl+C; networks already trained in the folder are evaluated, not retrained.
# Each network trains in ~13 min on 2 idle cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/compare-fashion}
dotnet run -c Release --project src/MobileNeXt.Cli -- compare --data fashion-mnist --preset fashion-mnist --int8 -o "$out" \
  --models mobilenext_035,mobilenetv2_035,mobilenext_035:a=1/2,mobilenext_035:a=1/6,mobilenetv2_dw_100:w=0.35,mobilenext_fig4a_100:w=0.35,mobilenext_fig4b_100:w=0.35,mobilenext_fig4c_100:w=0.35
