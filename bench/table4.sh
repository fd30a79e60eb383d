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

# INT8: every calibration method (per-channel weights) and per-tensor weights (MinMax), 512 calibration images of the
# training split, FP32 and INT8 top-1 and agreement on the 10,000 test images (each writes <name>.eval.json).
cli="dotnet run -c Release --project src/MobileNeXt.Cli --"
for model in mobilenext_035 mobilenetv2_035; do
  for variant in minmax percentile entropy per-tensor; do
    case "$variant" in
      per-tensor) extra=(--method minmax --per-tensor) ;;
      *) extra=(--method "$variant") ;;
    esac
    $cli quantize "$model" --weights "$runs/$model/last.pth" --calibration fashion-mnist \
      --onnx "$runs/$model/int8-$variant.onnx" "${extra[@]}" --evaluate
  done
done

# The table, from the .eval.json files.
/usr/bin/python3 - "$runs" <<'PY'
import json, sys, pathlib
runs = pathlib.Path(sys.argv[1])
print("| model | weights | calibration | FP32 top-1 | INT8 top-1 | drop | FP32/INT8 agreement |")
print("|---|---|---|---|---|---|---|")
for model in ["mobilenext_035", "mobilenetv2_035"]:
    for variant in ["minmax", "percentile", "entropy", "per-tensor"]:
        e = json.loads((runs / model / f"int8-{variant}.eval.json").read_text())
        print(f"| {model} | {'per-channel' if e['PerChannel'] else 'per-tensor'} | {e['Method']} | {e['Fp32Top1']:.2f} | "
              f"{e['Int8Top1']:.2f} | {e['Fp32Top1'] - e['Int8Top1']:.2f} | {e['Agreement']:.2f} % |")
PY
