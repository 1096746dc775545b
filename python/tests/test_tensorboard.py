"""``ember.utils.tensorboard.SummaryWriter`` against the event files PyTorch's writer produces
for the same calls (fixture by tools/gen_tensorboard_fixture.py), byte for byte; images against
their definition (a PNG decoded here); the record framing against the CRC-32C check value."""

import json
import os
import pathlib
import struct
import zlib
from unittest import mock

import numpy as np
import pytest

import ember
from ember.utils.tensorboard import SummaryWriter

import tensorboard_script
from tensorboard_script import event_files

FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "tensorboard_events.json").read_text())


def records(data):
    """The payloads of a TFRecord file, framing checked for length only."""
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from("<Q", data, pos)
        out.append(data[pos + 12:pos + 12 + n])
        pos += 12 + n + 4
    assert pos == len(data)
    return out


def test_event_files_equal_pytorchs_byte_for_byte(tmp_path):
    with mock.patch("time.time", return_value=1000.0):
        tensorboard_script.run(ember, str(tmp_path))
    got = event_files(tmp_path)
    want = {k: bytes.fromhex(v) for k, v in FIXTURE["files"].items()}
    assert sorted(got) == sorted(want)
    for name in want:
        g, w = records(got[name]), records(want[name])
        for i, (a, b) in enumerate(zip(g, w)):
            assert a == b, f"{name}: record {i} differs:\n ours  {a.hex()}\n torch {b.hex()}"
        assert len(g) == len(w), name
        assert got[name] == want[name], name  # the framing and checksums too


def test_crc32c_check_value_and_mask():
    from ember.utils.tensorboard import _record
    assert _record.crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    # TensorFlow's mask: rotate right by 15, add 0xa282ead8.
    crc = 0xE3069283
    assert _record.masked_crc32c(b"123456789") == ((crc >> 15 | crc << 17) + 0xA282EAD8) & 0xFFFFFFFF


def decode_png(data):
    """(pixels H x W x C, color type) of an 8-bit PNG whose rows use filter 0."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert struct.unpack_from(">I", data, pos + 8 + n)[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, color = header[:4]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * channels)
    assert (raw[:, 0] == 0).all() and depth == 8
    return raw[:, 1:].reshape(height, width, channels), color


def image_values(tmp_path, tag):
    """The (height, width, colorspace, PNG) of the last image summary in the event file."""
    data = next(iter(event_files(tmp_path).values()))
    rec = records(data)[-1]
    png = rec[rec.index(b"\x89PNG"):]
    return png


def test_images_are_their_pixels(tmp_path):
    chw = np.linspace(-0.2, 1.2, 2 * 3 * 4 * 5).reshape(2, 3, 4, 5).astype(np.float32)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_image("chw", ember.tensor(chw[0].tolist()), 0)
    pixels, color = decode_png(image_values(tmp_path, "chw"))
    # Floats are [0, 1]: times 255, clipped, truncated to uint8; CHW becomes HWC.
    want = (chw[0].transpose(1, 2, 0) * 255).clip(0, 255).astype(np.uint8)
    assert color == 2 and (pixels == want).all()


def test_batches_tile_into_a_grid_and_gray_becomes_rgb(tmp_path):
    imgs = (np.arange(3 * 1 * 2 * 2) * 20).reshape(3, 1, 2, 2).astype(np.uint8)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_images("batch", imgs, 0)
    pixels, _ = decode_png(image_values(tmp_path, "batch"))
    # Three 2x2 images side by side (up to 8 per row), uint8 values kept, gray copied to RGB.
    assert pixels.shape == (2, 6, 3)
    for i in range(3):
        for c in range(3):
            assert (pixels[:, 2 * i:2 * i + 2, c] == imgs[i, 0]).all()


def test_hwc_and_hw_formats(tmp_path):
    hw = (np.arange(12).reshape(3, 4) * 21).astype(np.uint8)
    with SummaryWriter(str(tmp_path / "hw")) as w:
        w.add_image("hw", hw, 0, dataformats="HW")
    pixels, _ = decode_png(image_values(tmp_path / "hw", "hw"))
    assert (pixels == np.stack([hw] * 3, 2)).all()
    hwc = (np.arange(24).reshape(2, 3, 4) * 10).astype(np.uint8)
    with SummaryWriter(str(tmp_path / "hwc")) as w:
        w.add_image("rgba", hwc, 0, dataformats="HWC")
    pixels, color = decode_png(image_values(tmp_path / "hwc", "rgba"))
    assert color == 6 and (pixels == hwc).all()


def test_bad_input_is_an_error(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(AssertionError, match="one element"):
            w.add_scalar("x", ember.tensor([1.0, 2.0]))
        with pytest.raises(AssertionError, match="input format"):
            w.add_image("x", np.zeros((2, 3)), dataformats="CHW")
        with pytest.raises(ValueError, match="no element"):
            w.add_histogram("x", np.zeros(0))
        with pytest.raises(ValueError, match="bucket_counts"):
            w.add_histogram_raw("x", 0, 1, 1, 1, 1, [1.0, 2.0], [1])
        with pytest.raises(TypeError, match="dictionary"):
            w.add_hparams([("lr", 1)], {})
        with pytest.raises(NotImplementedError):
            w.add_scalar("x", [1.0])  # a list is neither a tensor nor an array, as torch says
        with pytest.warns(UserWarning, match="add_graph"):
            w.add_graph(ember.nn.Linear(2, 2), ember.zeros(1, 2))


def test_default_log_dir_flush_close_and_reopen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_exp")
    w.add_scalar("a", 1.0, 0)
    w.flush()
    first = records(next(iter(event_files(w.get_logdir()).values())))
    assert len(first) == 2  # the file-version event, then the scalar: on disk after flush()
    w.close()
    w.close()  # a second close is ignored, as torch's
    w.add_scalar("a", 2.0, 1)  # writing after close opens a new event file, as torch's
    w.close()
    names = [f for f in os.listdir(w.get_logdir()) if f.startswith("events.out.tfevents.")]
    assert len(names) == 2


def test_embedding_files(tmp_path):
    mat = ember.tensor([[1.0, 2.0], [3.5, -1.0], [0.0, 0.25]])
    with SummaryWriter(str(tmp_path)) as w:
        w.add_embedding(mat, metadata=["a", "b", "c"], global_step=3, tag="emb/1")
        w.add_embedding(mat, metadata=[["x", 1], ["y", 2], ["z", 3]], metadata_header=["name", "n"], tag="two",
                        label_img=ember.zeros(3, 3, 2, 2))
    sub = tmp_path / "00003" / "emb%2f1"
    assert (sub / "tensors.tsv").read_text() == "1.0\t2.0\n3.5\t-1.0\n0.0\t0.25\n"
    assert (sub / "metadata.tsv").read_text() == "a\nb\nc\n"
    assert (tmp_path / "00000" / "two" / "metadata.tsv").read_text() == "name\tn\nx\t1\ny\t2\nz\t3\n"
    sprite, _ = decode_png((tmp_path / "00000" / "two" / "sprite.png").read_bytes())
    assert sprite.shape == (4, 4, 3)  # 3 images of 2x2 in a 2-wide grid, padded to a square
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert config == (
        'embeddings {\n  tensor_name: "emb/1:00003"\n  metadata_path: "00003/emb%2f1/metadata.tsv"\n'
        '  tensor_path: "00003/emb%2f1/tensors.tsv"\n}\n'
        'embeddings {\n  tensor_name: "two:00000"\n  metadata_path: "00000/two/metadata.tsv"\n'
        '  sprite {\n    image_path: "00000/two/sprite.png"\n    single_image_dim: 2\n    single_image_dim: 2\n'
        '  }\n  tensor_path: "00000/two/tensors.tsv"\n}\n')


def test_import_paths_as_torch():
    import ember.utils.tensorboard.summary as summary
    import ember.utils.tensorboard.writer as writer
    assert writer.SummaryWriter is SummaryWriter and callable(summary.scalar)
