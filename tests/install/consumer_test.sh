#!/usr/bin/env bash
# Installs lcstore into a scratch prefix, builds the consumer project against
# it with find_package(lcstore CONFIG), and checks that the consumer reads the
# same light curve as the installed lcstore program.
# Usage: consumer_test.sh BUILD_DIR FIXTURES WORK_DIR
set -euo pipefail
build=$1 fixtures=$2/sextractor-field-a work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
lcstore=$prefix/bin/lcstore
test -f "$prefix/include/lcstore/lightcurve/light_curve_store.h"
test -f "$prefix/lib/cmake/lcstore/lcstoreConfigVersion.cmake"

"$lcstore" create "$work/store" --objects "$fixtures/coadd.fits_ldac.cat" \
  --epochs epoch_000,epoch_001,epoch_002,epoch_003 >/dev/null
for e in 000 001 002 003; do
  "$lcstore" populate -q "$work/store" --epoch "epoch_$e" "$fixtures/epoch_$e.fits_ldac.cat"
done

cmake -S "$here/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer" "$work/store" 7 >"$work/consumer.csv"

# The program's csv: object,epoch,measurement,mag,mag_err; the first
# measurement's rows come first.
"$lcstore" lightcurve "$work/store" 7 --format csv | awk -F, 'NR > 1 && NR <= 5 { print $2 "," $4 }' >"$work/cli.csv"
test "$(wc -l <"$work/consumer.csv")" -eq 4
# The same float32, printed to 9 digits by one and shortest by the other.
awk -F, 'function abs(x) { return x < 0 ? -x : x }
  NR == FNR { want[$1] = $2; next }
  !($1 in want) || abs(want[$1] - $2) > 1e-6 * abs($2) { bad = 1; print "differs: " $0 " (lcstore: " want[$1] ")" }
  END { exit bad }' "$work/cli.csv" "$work/consumer.csv"
echo "consumer read the same light curve as lcstore lightcurve"
