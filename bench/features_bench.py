"""lcstore's feature kernels against the light-curve package, nifty-ls and
astropy, on the same simulated curves, in one run, each on one thread.

    .venv/bin/python bench/features_bench.py [--curves 10000] [--epochs 1000]
        [--periodogram-curves 100] [--program build/bench/features_bench]

Prints the medians of 5 runs per curve and the ratios (the other's time over
lcstore's: above 1 means lcstore is faster):
  * cheap features: every lcstore feature but the periodogram, against
    light-curve's Extractor.many(n_jobs=1) of the features both define;
  * the periodogram on lcstore's default grid for these times, against
    nifty-ls (finufft backend, one thread, the curves batched in one call as
    it is fastest) and astropy's LombScargle(method="fast").
"""

import argparse
import json
import os
import pathlib
import subprocess
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import light_curve as lc  # noqa: E402
import nifty_ls  # noqa: E402
import numpy as np  # noqa: E402
from astropy.timeseries import LombScargle  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
RUNS = 5


def median_seconds(work):
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def simulate(curves, epochs, seed=1):
    """Survey-like curves: one cadence, jittered times, a sinusoid in a tenth
    of them, Gaussian noise, a few missing epochs kept out (light-curve
    takes only finite values, so every curve here is complete)."""
    rng = np.random.default_rng(seed)
    t = 58000 + np.sort(rng.uniform(0, epochs * 2.0, epochs))
    mag0 = rng.uniform(15, 21, (curves, 1))
    err = (0.01 + 0.02 * np.exp(mag0 - 19) * rng.uniform(0.8, 1.2, (curves, epochs))).astype(np.float32)
    periodic = rng.random((curves, 1)) < 0.1
    signal = np.where(periodic, 0.3 * np.sin(2 * np.pi * t / rng.uniform(1, 100, (curves, 1))), 0)
    mag = (mag0 + signal + err * rng.standard_normal((curves, epochs))).astype(np.float32)
    return t, mag, err


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--periodogram-curves", type=int, default=100)
    parser.add_argument("--program", default=str(REPO / "build" / "bench" / "features_bench"))
    arguments = parser.parse_args()
    t, mag, err = simulate(arguments.curves, arguments.epochs)

    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "curves.bin"
        with open(path, "wb") as out:
            np.array([arguments.curves, arguments.epochs], dtype=np.uint64).tofile(out)
            t.astype(np.float64).tofile(out)
            mag.tofile(out)
            err.tofile(out)
        ours = json.loads(subprocess.run([arguments.program, str(path), str(arguments.periodogram_curves)],
                                         check=True, capture_output=True, text=True).stdout)

    extractor = lc.Extractor(
        lc.WeightedMean(), lc.Median(), lc.StandardDeviation(), lc.MedianAbsoluteDeviation(), lc.Amplitude(),
        lc.InterPercentileRange(0.25), lc.InterPercentileRange(0.05), lc.Skew(), lc.Kurtosis(),
        lc.ReducedChi2(), lc.StetsonK(), lc.Eta(), lc.ExcessVariance(), lc.LinearFit())
    curves = [(t, m, d) for m, d in zip(mag.astype(np.float64), err.astype(np.float64))]
    light_curve = median_seconds(lambda: extractor.many(curves, sorted=True, check=False, n_jobs=1))

    grid = ours["grid"]
    n = arguments.periodogram_curves
    y, dy = mag[:n].astype(np.float64), err[:n].astype(np.float64)
    frequencies = grid["minimum"] + grid["step"] * np.arange(grid["count"])

    def nifty():
        nifty_ls.lombscargle(t, y, dy, fmin=grid["minimum"], fmax=frequencies[-1], Nf=grid["count"],
                             backend="finufft", nthreads=1)

    def astropy_fast():
        for k in range(n):
            LombScargle(t, y[k], dy[k]).power(frequencies, method="fast", assume_regular_frequency=True)

    nifty_seconds = median_seconds(nifty)
    astropy_seconds = median_seconds(astropy_fast)

    per_curve = arguments.curves
    print(f"{arguments.curves} curves x {arguments.epochs} epochs, one thread, medians of {RUNS} runs")
    print(f"cheap features        lcstore {ours['cheap_seconds'] / per_curve * 1e6:9.1f} us/curve   "
          f"light-curve .many {light_curve / per_curve * 1e6:9.1f} us/curve   "
          f"ratio {light_curve / ours['cheap_seconds']:.2f}x")
    print(f"periodogram, {grid['count']} frequencies, {n} curves:")
    ls_ours = ours["periodogram_seconds"] / n
    print(f"  lcstore {ls_ours * 1e3:8.3f} ms/curve")
    print(f"  nifty-ls (finufft, batched) {nifty_seconds / n * 1e3:8.3f} ms/curve   ratio {nifty_seconds / n / ls_ours:.2f}x")
    print(f"  astropy fast                {astropy_seconds / n * 1e3:8.3f} ms/curve   "
          f"ratio {astropy_seconds / n / ls_ours:.2f}x")


if __name__ == "__main__":
    main()
