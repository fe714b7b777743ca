"""The demo field (lcstore simulate -> source-extractor -> store), calibrated
and with features, built once per session for the comparisons."""

import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
LCSTORE = os.environ.get("LCSTORE_CLI", str(REPO / "build" / "lcstore"))


def lcstore(*args):
    return subprocess.run([LCSTORE, *map(str, args)], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo at its default size (2000 stars, 30 epochs): `auto` features
    calibrated, `iso` features not."""
    out = tmp_path_factory.mktemp("demo")
    environment = dict(os.environ, DEMO_DIR=str(out), LCSTORE=LCSTORE, DEMO_JOBS="2")
    subprocess.run([str(REPO / "demo" / "run-demo")], check=True, capture_output=True, env=environment)
    store = out / "field.lcs"
    lcstore("calibrate", store, "--measurement", "auto", "--measurement", "iso")
    lcstore("features", store, "--measurement", "auto", "--calibrated", "-q")
    lcstore("features", store, "--measurement", "iso", "-q")
    return {"store": store, "truth": out / "images" / "truth.json"}
