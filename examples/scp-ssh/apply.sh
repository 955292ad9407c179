#!/bin/sh
# Applies the copied configuration: here it only reports what it found.
set -e
cfg=${STEPLINE_CONFIG:-/tmp/stepline-example.cfg}
echo "applying $(wc -l < "$cfg") lines from $cfg"
sha256sum "$cfg"
echo "changed hostname"
