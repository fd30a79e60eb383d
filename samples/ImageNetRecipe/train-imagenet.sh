#!/usr/bin/env bash
# The authors' released ImageNet recipe (Nesterov SGD, lr 0.1 at global batch 512, weight decay 1e-4 not on BN or
# biases, label smoothing 0.1, 3 warm-up epochs from 1e-4, cosine to 1e-5, 10 cool-down epochs, ColorJitter 0.4,
# Dropout 0.2; see RecipePresets.Released) on your ImageNet copy.
#
#   samples/ImageNetRecipe/train-imagenet.sh /data/imagenet [output-dir] [extra mobilenext train options]
#
# /data/imagenet must hold train/<class>/<image> and val/<class>/<image>. Ctrl+C saves a checkpoint; running the
# script again with the same output folder resumes from it. With mpirun -np N the per-process batch is divided by N
# so the global batch stays 512 (the learning rate follows the global batch).
set -euo pipefail
data=${1:?usage: $0 /path/to/imagenet [output-dir] [options...]}
output=${2:-runs/imagenet-mobilenext_100}
shift $(( $# >= 2 ? 2 : 1 ))
processes=${OMPI_COMM_WORLD_SIZE:-1}
mobilenext=(dotnet run -c Release --project "$(dirname "$0")/../../src/MobileNeXt.Cli" --)
if [[ -f "$output/last.pth" ]]; then
  exec "${mobilenext[@]}" train --data "$data" --resume "$output/last.pth" --output "$output" "$@"
fi
exec "${mobilenext[@]}" train --data "$data" --preset released --model mobilenext_100 \
  --batch-size $(( 512 / processes )) --workers 6 --output "$output" "$@"
