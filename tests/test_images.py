"""A folder of class folders of images (fastai's MNIST_SAMPLE layout) reads as the table of
its pixels: the same Table as the CSV of those pixels, here the shipped data/mnist37.csv."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from titanic_reg import cli
from titanic_reg import images
from titanic_reg.errors import InputError
from titanic_reg.table import read_table

ROOT = Path(__file__).resolve().parents[1]
MNIST37 = ROOT / "data" / "mnist37.csv"
# The first 15 3s and the first 15 7s of the shipped sample, by their row in the frame.
PICKED = list(range(15)) + list(range(500, 515))


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(MNIST37)


def pixels(sample, i) -> np.ndarray:
    return sample.iloc[i, :784].to_numpy(dtype=np.uint8).reshape(28, 28)


def write_folder(sample, folder: Path, suffix=".png", picked=PICKED, **save) -> Path:
    """Each picked image as <folder>/<digit>/<its row in the frame><suffix>."""
    for i in picked:
        cls = folder / str(sample.digit[i])
        cls.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels(sample, i)).save(cls / f"{i}{suffix}", **save)
    return folder


def refused(path, *words):
    with pytest.raises(InputError) as caught:
        read_table(path)
    message = str(caught.value)
    for word in words:
        assert word in message, message
    return message


def test_a_folder_of_pngs_reads_as_the_csv_of_its_pixels(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train")
    # The CSV of the same images in the folder's order: by class, then by file name as text
    # (3/0.png, 3/1.png, 3/10.png, ..., 3/9.png), the class column named `label`.
    order = sorted(PICKED, key=lambda i: (str(sample.digit[i]), f"{i}.png"))
    assert order[:4] == [0, 1, 10, 11] and order[15:17] == [500, 501]
    csv = tmp_path / "same.csv"
    sample.iloc[order].rename(columns={"digit": "label"}).to_csv(csv, index=False)

    from_images, from_csv = read_table(folder), read_table(csv)
    assert from_images.path == folder
    assert from_images.header == from_csv.header == [f"p{i}" for i in range(784)] + ["label"]
    assert list(from_images.rows) == list(from_csv.rows) == list(range(2, 32))
    assert from_images.header_row == from_csv.header_row == 1
    assert from_images.decimal_comma is from_csv.decimal_comma is False
    for a, b in zip(from_images.columns, from_csv.columns):
        assert a.name == b.name
        assert list(a.values()) == list(b.values()), a.name
        assert list(a.codes) == list(b.codes) and list(a.texts) == list(b.texts), a.name
    # Row r of the table is image_files(folder)[r - 2].
    files = images.image_files(folder)
    assert [(label, f.name) for label, f in files][:3] == [("3", "0.png"), ("3", "1.png"), ("3", "10.png")]
    assert from_images.column("p350").values()[5] == str(sample.iloc[order[5], 350])


def test_a_jpeg_folder_reads_to_28x28_pixels_near_the_originals(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train", ".jpg", quality=90)
    table = read_table(folder)
    assert table.header[-1] == "label" and len(table.header) == 785 and len(table) == 30
    got = np.column_stack([c.values().astype(int) for c in table.columns[:-1]])
    assert got.min() >= 0 and got.max() <= 255
    assert list(table.column("label").values()) == ["3"] * 15 + ["7"] * 15
    # JPEG is lossy: not equal, but close to the PNG's pixels, image by image.
    order = sorted(PICKED, key=lambda i: (str(sample.digit[i]), f"{i}.jpg"))
    original = sample.iloc[order, :784].to_numpy(dtype=int)
    assert np.abs(got - original).mean(axis=1).max() < 4
    assert not np.array_equal(got, original)


def test_grey_saved_as_rgb_palette_or_black_and_white_reads_as_grey(sample, tmp_path):
    folder = tmp_path / "train"
    write_folder(sample, folder, picked=[0, 500])
    grey = pixels(sample, 1)
    Image.fromarray(np.dstack([grey] * 3)).save(folder / "3" / "rgb.png")
    Image.fromarray(grey).convert("P").save(folder / "3" / "palette.png")
    Image.fromarray(grey).convert("1", dither=Image.Dither.NONE).save(folder / "7" / "bw.png")
    assert Image.open(folder / "3" / "palette.png").mode == "P"
    table = read_table(folder)
    rows = {f.name: i for i, (_, f) in enumerate(images.image_files(folder))}
    values = np.column_stack([c.values().astype(int) for c in table.columns[:-1]])
    assert list(values[rows["rgb.png"]]) == list(grey.reshape(-1))
    assert list(values[rows["palette.png"]]) == list(grey.reshape(-1))
    bw = values[rows["bw.png"]]
    assert set(bw) == {0, 255} and list(bw) == list(np.where(grey.reshape(-1) >= 128, 255, 0))


def test_hidden_files_and_files_beside_the_class_folders_are_left_alone(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train", picked=[0, 1, 500])
    (folder / "3" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (folder / "labels.csv").write_text("name,label\n", encoding="utf-8")
    (folder / "notes").mkdir()
    (folder / "notes" / "readme.txt").write_text("not a class\n", encoding="utf-8")
    table = read_table(folder)
    assert len(table) == 3 and list(table.column("label").values()) == ["3", "3", "7"]


def test_an_image_of_another_size(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train", picked=[0, 1, 500])
    Image.fromarray(pixels(sample, 2)[:, :27]).save(folder / "7" / "narrow.png")
    message = refused(folder, f"{folder / '7' / 'narrow.png'}: is 27x28 pixels but {folder / '3' / '0.png'} "
                              "is 28x28; every image must be one size")
    assert "\n" not in message


def test_a_colour_image_names_its_mode(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train", picked=[0, 500])
    rgb = np.dstack([pixels(sample, 1)] * 3)
    rgb[10, 10] = (255, 0, 0)
    Image.fromarray(rgb).save(folder / "3" / "red.png")
    refused(folder, f"{folder / '3' / 'red.png'}: is a colour image (mode RGB); save it as greyscale (mode L)")
    (folder / "3" / "red.png").unlink()
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "3" / "red.png")
    refused(folder, "red.png: is a colour image (mode P)")
    (folder / "3" / "red.png").unlink()
    Image.fromarray(pixels(sample, 1)).convert("RGBA").save(folder / "3" / "alpha.png")
    refused(folder, "alpha.png: is not an 8-bit greyscale image (mode RGBA)")


def test_a_file_that_is_not_an_image(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train", picked=[0, 500])
    (folder / "3" / "notes.txt").write_text("hello\n", encoding="utf-8")
    refused(folder, f"{folder / '3' / 'notes.txt'}: is not an image (class folder 3 holds only images)")
    (folder / "3" / "notes.txt").unlink()
    (folder / "3" / "fake.png").write_text("hello\n", encoding="utf-8")
    refused(folder, f"{folder / '3' / 'fake.png'}: is not an image (Pillow cannot read it)")
    (folder / "3" / "fake.png").unlink()
    whole = (folder / "3" / "0.png").read_bytes()
    (folder / "3" / "cut.png").write_bytes(whole[:len(whole) // 2])
    refused(folder, f"{folder / '3' / 'cut.png'}: cannot be read as an image (")
    (folder / "3" / "cut.png").unlink()
    (folder / "3" / "deeper").mkdir()
    refused(folder, "deeper: is a folder inside class folder 3: a class folder holds only images")


def test_one_class_or_none(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train", picked=[0, 1])
    refused(folder, f"{folder}: holds one class folder of images (3); a model needs two classes or more")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert refused(empty) == f"{empty}: is a directory, not a CSV file"
    (empty / "3").mkdir()
    (empty / "notes.txt").write_text("x", encoding="utf-8")
    assert refused(empty) == f"{empty}: is a directory, not a CSV file"


def test_hints_for_the_archive_folder_and_for_loose_images(sample, tmp_path):
    archive = tmp_path / "mnist_sample"  # fastai's: train/ and valid/ of class folders, labels.csv
    write_folder(sample, archive / "train", picked=[0, 500])
    (archive / "labels.csv").write_text("name,label\n", encoding="utf-8")
    refused(archive, f"{archive}: is a directory, not a CSV file, but {archive / 'train'} is a folder of "
                     "class folders of images: give that")
    # A run's --out inside the folder given: its loss.png makes out/ look like the one class.
    (archive / "out").mkdir()
    Image.new("L", (4, 4)).save(archive / "out" / "loss.png")
    refused(archive, f"{archive}: holds one class folder of images (out); a model needs two classes or more, one "
                     f"folder each, but {archive / 'train'} is a folder of class folders of images: give that")
    loose = tmp_path / "loose"
    loose.mkdir()
    Image.fromarray(pixels(sample, 0)).save(loose / "a.png")
    refused(loose, f"{loose}: is a directory, not a CSV file; to read its images, put each class's images in "
                   "a folder named for the class")


def test_images_too_large_for_one_column_a_pixel(tmp_path):
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        Image.new("L", (200, 100)).save(tmp_path / cls / "a.png")
    refused(tmp_path, f"{tmp_path / 'cat' / 'a.png'}: is 200x100 pixels, 20,000 in all: past the 16,384")


def test_the_command_fits_a_folder_and_refuses_a_bad_one_in_one_line(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train", picked=list(range(20)) + list(range(500, 520)))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, ["fit", str(folder), "--target", "label", "--out", str(out),
                                           "--no-workbook", "--models", "linear", "--epochs", "20"])
    assert result.exit_code == 0, result.stdout + result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["target"]["column"] == "label" and metrics["rows"]["train"] + metrics["rows"]["valid"] == 40
    assert metrics["settings"]["sha256"]["train"] == images.folder_sha256(folder)
    assert metrics["models"]["linear"]["valid_acc"] >= 0.75  # 3s from 7s, even from 32 of them

    Image.fromarray(np.dstack([pixels(sample, 0), pixels(sample, 0) // 2, pixels(sample, 0)])).save(
        folder / "7" / "purple.png")
    bad = CliRunner().invoke(cli.main, ["fit", str(folder), "--target", "label", "--out", str(tmp_path / "no")])
    assert bad.exit_code == 1
    assert bad.stderr == f"error: {folder / '7' / 'purple.png'}: is a colour image (mode RGB); save it as " \
                         "greyscale (mode L)\n"
    assert not (tmp_path / "no").exists()


def test_folder_hash_follows_the_images(sample, tmp_path):
    folder = write_folder(sample, tmp_path / "train", picked=[0, 500])
    before = images.folder_sha256(folder)
    assert images.folder_sha256(folder) == before
    Image.fromarray(pixels(sample, 1)).save(folder / "3" / "0.png")
    changed = images.folder_sha256(folder)
    assert changed != before
    (folder / "3" / "0.png").rename(folder / "3" / "00.png")  # the same bytes under another name
    assert images.folder_sha256(folder) not in (before, changed)


def _resized(sample, folder: Path, size: tuple[int, int], picked) -> Path:
    """The picked images resized to size (width, height), in class folders."""
    for i in picked:
        cls = folder / str(sample.digit[i])
        cls.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels(sample, i)).resize(size).save(cls / f"{i}.png")
    return folder


def test_test_images_of_another_size_than_the_training_images_are_one_error(sample, tmp_path):
    """Every folder's columns are named p0, p1, ...: 16x16 test images for a model of 8x8 ones
    were once read by their first 64 pixels, without a word."""
    import titanic_reg

    small = _resized(sample, tmp_path / "small", (8, 8), list(range(20)) + list(range(500, 520)))
    large = _resized(sample, tmp_path / "large", (16, 16), list(range(20, 25)) + list(range(520, 525)))
    out = tmp_path / "out"
    bad = CliRunner().invoke(cli.main, ["fit", str(small), "--target", "label", "--test", str(large), "--out",
                                        str(out), "--no-workbook", "--baselines", "none", "--epochs", "5"])
    assert bad.exit_code == 1 and not out.exists()
    assert bad.stderr == (f"error: {large}: holds images of 16x16 pixels, but the model was trained on 8x8; give "
                          "images of the training size\n")
    result = titanic_reg.fit(large, target="label", models="linear", epochs=5, baselines=None, progress=False,
                             descent_steps=0)
    with pytest.raises(InputError, match="holds images of 8x8 pixels, but the model was trained on 16x16"):
        result.predict(small)


def test_a_folder_of_images_that_are_not_square_keeps_their_shape(sample, tmp_path):
    """16 wide and 4 high: 64 pixels, once drawn as an 8 x 8 block; 12 x 8 as one row of 96."""
    from titanic_reg.infer import infer

    for (width, height) in ((16, 4), (12, 8)):
        folder = _resized(sample, tmp_path / f"w{width}", (width, height), list(range(10)) + list(range(500, 510)))
        (block,) = {tuple(t.shape) for t in infer(read_table(folder), "label").inputs if t.kind == "pixels"}
        assert block == (height, width)


def test_an_empty_class_folder_is_said_once(sample, tmp_path):
    from titanic_reg.errors import InputWarning

    folder = write_folder(sample, tmp_path / "train")
    (folder / "4").mkdir()
    with pytest.warns(InputWarning) as said:
        table = read_table(folder)
    assert [str(w.message) for w in said] == [f"{folder}: class folder 4 holds no images, so the model has no "
                                              "class 4"]
    assert set(table.column("label").texts) == {"3", "7"}
