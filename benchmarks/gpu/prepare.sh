#!/usr/bin/env bash
# Here, before a GPU device call: what the GPU machine lacks, into two git-excluded folders.
#   .whl/       wheels for its Python 3.12 (its image has JAX, PyTorch, numpy, scipy, matplotlib,
#               pillow, rich and pyyaml, but no Keras, Optuna, MLflow or pydantic, and no registry)
#   .gpu-data/  one dataset from $HARNESS_DATA_DIR (default ../shared/datasets)
# Usage: bash benchmarks/gpu/prepare.sh cifar10-jpeg.tar.gz     (then carry [".whl", ".gpu-data"])
# The set was found by running the cifar smoke campaign under KERAS_BACKEND=jax in a Python 3.12
# environment holding only the image's packages plus these wheels (about 24 MB).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATASET=${1:?name the one dataset file or folder to carry, e.g. cifar10-jpeg.tar.gz}
WHEELS=(
  keras==3.15.1 namex==0.1.0 optree==0.20.0
  optuna==5.0.0 alembic==1.20.1 Mako==1.4.3 SQLAlchemy==2.1.9 greenlet==3.5.6 colorlog==6.12.0
  pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  mlflow-skinny==3.17.2 mlflow-tracing==3.17.2 databricks-sdk==0.167.0 fastapi==0.165.0 starlette==1.10.0
  opentelemetry-api==1.45.2 opentelemetry-proto==1.45.2 opentelemetry-sdk==1.45.2
  opentelemetry-semantic-conventions==0.66b2 importlib_metadata==9.1.0 cachetools==7.3.3
  sqlparse==0.6.1 python-dotenv==1.2.4 cryptography==50.0.2 cffi==2.1.1 pycparser==3.12
)
mkdir -p .git/info
for ignored in /.whl/ /.gpu-data/; do
  grep -qxF "$ignored" .git/info/exclude 2>/dev/null || echo "$ignored" >>.git/info/exclude
done
rm -rf .whl .gpu-data
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "${WHEELS[@]}"
mkdir .gpu-data
cp -r "${HARNESS_DATA_DIR:-../shared/datasets}/$DATASET" .gpu-data/
du -sh .whl .gpu-data
