#!/usr/bin/env bash
# Fetch what bench/device.sh needs on the device machine, which has python3 and numpy but neither
# moderngl nor PyAV, and may lack the GL loader libraries: wheels for its Python 3.12 into .whl/
# and the loader packages into .gl/ (both git-ignored; carry them: carry [".whl", ".gl"]).
# Together about 40 MB, within the 64 MiB a device call may carry. Run once, in the repo root.
set -eu -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p .whl .gl
# The versions the project is tested with (see .venv); glcontext is moderngl's EGL loader.
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
    moderngl==5.13.0 glcontext==3.1.0 av==18.1.0
lists=/tmp/rackfocus-apt-amd64
mkdir -p "$lists/partial"
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
apt-get "${o[@]}" update -qq
(cd .gl && apt-get "${o[@]}" download libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .whl .gl
