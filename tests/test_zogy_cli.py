"""``diffim subtract --algorithm zogy``: files in, difference and score-detected catalogue out."""
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from diffim.cli.main import main
from diffim.io.exposure_fits import read_exposure
from diffim.measure.schema import CENTROID_X, CENTROID_Y


@pytest.fixture(scope="module")
def pair_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("zogy_pair")
    assert main(["sim", "--output-dir", str(directory), "--size", "512", "--seed", "4",
                 "-c", "n_transients=8", "-c", "transient_flux_min=20000",
                 "-c", "transient_host_fraction=0"]) == 0
    return directory


def test_zogy_difference_and_catalog_from_the_score(pair_dir, tmp_path, capsys):
    capsys.readouterr()
    output, catalog = tmp_path / "diff.fits", tmp_path / "cat.parquet"
    assert main(["subtract", "--algorithm", "zogy", "--science", str(pair_dir / "science.fits"),
                 "--template", str(pair_dir / "template.fits"), "--output", str(output),
                 "--catalog", str(catalog)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "algorithm=zogy" in lines[0] and "dia_sources=" in lines[1]
    header = fits.getheader(output)
    assert header["DIFMODE"] == "zogy" and header["ZOGYFR"] == pytest.approx(1.0 / 0.9)
    difference = read_exposure(output)
    assert difference.shape == (512, 512) and difference.psf is not None
    truth = pd.read_parquet(pair_dir / "truth.parquet")
    transients = truth[(truth["kind"] == "transient") & truth["in_science"] & truth["is_isolated"]
                       & ~truth["near_defect"]
                       & truth["x"].between(10, 501) & truth["y"].between(10, 501)]
    assert len(transients) >= 4
    sources = pd.read_parquet(catalog)
    positive = sources[~sources["is_negative"]]
    distance = np.hypot(positive[CENTROID_X].to_numpy()[:, None] - transients["x"].to_numpy(),
                        positive[CENTROID_Y].to_numpy()[:, None] - transients["y"].to_numpy())
    assert (distance.min(axis=0) < 2.0).all()


def test_zogy_plain_images_take_the_flux_scale_from_stars(tmp_path, capsys):
    # No variable stars: on 512 px the default field's brightest isolated stars are
    # mostly variables, which no flux scale from stars survives.
    pair_dir = tmp_path / "quiet"
    assert main(["sim", "--output-dir", str(pair_dir), "--size", "512", "--seed", "4",
                 "-c", "n_transients=8", "-c", "n_variables=0"]) == 0
    for name in ("science", "template"):
        exposure = read_exposure(pair_dir / f"{name}.fits")
        fits.PrimaryHDU(exposure.image).writeto(tmp_path / f"{name}.fits")
        fits.PrimaryHDU(exposure.variance).writeto(tmp_path / f"{name}_var.fits")
    common = ["subtract", "--algorithm", "zogy", "--science", str(tmp_path / "science.fits"),
              "--template", str(tmp_path / "template.fits"), "--output",
              str(tmp_path / "d.fits"), "--science-variance", str(tmp_path / "science_var.fits"),
              "--template-variance", str(tmp_path / "template_var.fits"),
              "--science-fwhm", "5.0", "--template-fwhm", "3.5"]
    capsys.readouterr()
    # Without calibrations F_r comes from the stars: the true 1 / 0.9 within 1 %.
    assert main(common) == 0
    assert fits.getheader(tmp_path / "d.fits")["ZOGYFR"] == pytest.approx(1.0 / 0.9, rel=0.01)
    (tmp_path / "d.fits").unlink()
    assert main([*common, "-c", "fluxScaleFromStars=False"]) == 1
    assert "scaleByCalibration" in capsys.readouterr().err
    assert not (tmp_path / "d.fits").exists()
    assert main([*common, "-c", "scaleByCalibration=False",
                 "-c", f"templateFluxScaling={1 / 0.9}"]) == 0
    assert fits.getheader(tmp_path / "d.fits")["ZOGYFR"] == pytest.approx(1.0 / 0.9)
    assert main([*common, "--mode", "auto"]) == 1
    assert "Alard-Lupton option" in capsys.readouterr().err
