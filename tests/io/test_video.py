"""masklet.io.video: video files, frame folders, frame lists/arrays and streams."""

from __future__ import annotations

import random

import av
import numpy as np
import pytest
from conftest import require_shared_data
from PIL import Image

from masklet.io import VideoReadError, VideoSource, open_video

BEDROOM_REF = sorted({0, 1, 5, 77, 120, 150, *range(165, 200)})


@pytest.fixture(scope="module")
def bedroom_mp4():
    return require_shared_data() / "videos" / "bedroom.mp4"


@pytest.fixture(scope="module")
def bedroom_reference(bedroom_mp4):
    """Frames BEDROOM_REF of bedroom.mp4 from one plain sequential PyAV decode."""
    wanted = set(BEDROOM_REF)
    with av.open(str(bedroom_mp4)) as container:
        return {i: f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i in wanted}


def write_video(path, codec, num_frames=40, size=(64, 48), options=None):
    """A small synthetic video whose frames all differ; returns its frames as plain PyAV decodes them."""
    if codec not in av.codecs_available:
        pytest.skip(f"FFmpeg here has no {codec} encoder")
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=24, options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.gop_size = 8
        for t in range(num_frames):
            image = np.zeros((height, width, 3), np.uint8)
            image[..., 0] = (5 * t) % 256
            image[(3 * t) % height:(3 * t) % height + 8, :, 1] = 255
            image[:, (7 * t) % width:(7 * t) % width + 5, 2] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# --- video files -----------------------------------------------------------------------------


def test_bedroom_mp4_properties(bedroom_mp4):
    with open_video(bedroom_mp4) as video:
        assert isinstance(video, VideoSource)
        assert (video.num_frames, len(video), video.height, video.width) == (200, 200, 540, 960)
        assert video.fps == pytest.approx(30.0)
        assert video.is_seekable
        frame = video[0]
        assert frame.shape == (540, 960, 3) and frame.dtype == np.uint8
        assert not frame.flags.writeable


def test_bedroom_random_access_equals_sequential_decode(bedroom_mp4, bedroom_reference):
    with open_video(bedroom_mp4) as video:
        for i in [150, 0, 199, 198, 197, 77, 1, 5, 120, -1, -50]:
            np.testing.assert_array_equal(video[i], bedroom_reference[i % 200], err_msg=f"frame {i}")


def test_bedroom_backward_walk_matches_and_is_not_quadratic(bedroom_mp4, bedroom_reference):
    # bedroom.mp4 is one GOP: a backward walk that re-decoded from the keyframe for every
    # frame would decode ~30 x 185 frames; the cached window makes it about two passes.
    with open_video(bedroom_mp4, prefetch=0) as video:
        start = video.frames_decoded
        for i in range(199, 169, -1):
            np.testing.assert_array_equal(video[i], bedroom_reference[i], err_msg=f"frame {i}")
        assert video.frames_decoded - start <= 2 * 200
        assert video.cached_bytes <= 256 * 2**20


def test_backward_walk_with_prefetch(bedroom_mp4, bedroom_reference):
    with open_video(bedroom_mp4, prefetch=4, cache_mib=64) as video:
        for i in range(199, 164, -1):
            np.testing.assert_array_equal(video[i], bedroom_reference[i], err_msg=f"frame {i}")
        assert video.cached_bytes <= 64 * 2**20


def test_reading_one_frame_keeps_few_frames(bedroom_mp4, bedroom_reference):
    with open_video(bedroom_mp4) as video:
        np.testing.assert_array_equal(video[150], bedroom_reference[150])
        assert video.cached_frames <= 2
        assert video.cached_bytes <= 2 * 960 * 540 * 3


def test_sequential_read_decodes_each_frame_once(bedroom_mp4, bedroom_reference):
    with open_video(bedroom_mp4, cache_mib=32) as video:
        frames = 0
        for i, frame in enumerate(video):
            frames += 1
            if i in bedroom_reference:
                np.testing.assert_array_equal(frame, bedroom_reference[i], err_msg=f"frame {i}")
            assert video.cached_bytes <= 32 * 2**20
        assert frames == 200
        assert video.frames_decoded == 200


def test_mp4_matches_jpeg_frames():
    data = require_shared_data() / "videos"
    with open_video(data / "bedroom.mp4") as mp4, open_video(data / "bedroom") as jpegs:
        assert (len(jpegs), jpegs.height, jpegs.width, jpegs.fps) == (200, 540, 960, None)
        for i in [0, 100, 199]:
            diff = np.abs(mp4[i].astype(np.int16) - jpegs[i].astype(np.int16)).mean()
            assert diff < 4.0, f"frame {i}: mean abs diff {diff:.2f}"  # measured 1.5 to 1.8


@pytest.mark.parametrize(
    ("name", "codec", "options"),
    [("bframes.mp4", "libx264", {"bf": "3", "g": "8"}), ("tiny.avi", "mpeg4", {}), ("tiny.webm", "libvpx", {})],
)
def test_written_video_random_access(tmp_path, name, codec, options):
    reference = write_video(tmp_path / name, codec, options=options)
    with open_video(tmp_path / name, prefetch=2, cache_mib=0.1) as video:
        assert (len(video), video.height, video.width) == (40, 48, 64)
        assert video.fps == pytest.approx(24.0)
        order = list(range(40))
        random.Random(0).shuffle(order)
        for i in order + list(range(39, -1, -1)):
            np.testing.assert_array_equal(video[i], reference[i], err_msg=f"frame {i}")
        np.testing.assert_array_equal(np.stack(list(video)), np.stack(reference))


def test_raw_stream_without_timestamps_is_counted(tmp_path):
    reference = write_video(tmp_path / "raw.h264", "libx264", num_frames=20)
    with open_video(tmp_path / "raw.h264", prefetch=0) as video:
        assert len(video) == 20
        for i in [10, 3, 19, 0, 18]:
            np.testing.assert_array_equal(video[i], reference[i])


def test_url_is_read_as_a_stream(bedroom_mp4, bedroom_reference):
    with open_video(f"file://{bedroom_mp4}") as stream:
        assert not stream.is_seekable and stream.num_frames is None
        assert (stream.height, stream.width, stream.fps) == (540, 960, pytest.approx(30.0))
        frames = iter(stream)
        for i in range(2):
            np.testing.assert_array_equal(next(frames), bedroom_reference[i])


# --- frame folders, lists and arrays -----------------------------------------------------------


def test_folder_natural_order_and_filtering(tmp_path):
    for value, name in [(1, "f1.png"), (2, "f2.JPG"), (10, "f10.png"), (3, "f3.bmp")]:
        Image.new("RGB", (6, 4), (value, 0, 0)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / ".f0.png").write_bytes(b"hidden resource fork")
    (tmp_path / "sub.png").mkdir()
    with open_video(tmp_path, prefetch=2) as video:
        assert (len(video), video.height, video.width) == (4, 4, 6)
        assert [int(frame[0, 0, 0]) for frame in video] == [1, 2, 3, 10]
        assert int(video[-1][0, 0, 0]) == 10


def test_folder_reads_ahead_in_the_direction_of_travel(tmp_path):
    for t in range(12):
        Image.new("RGB", (6, 4), (t, 0, 0)).save(tmp_path / f"{t}.png")

    def wait_for_prefetch(video):
        video._executor.submit(lambda: None).result()  # one worker: earlier reads are done

    with open_video(tmp_path, prefetch=3) as video:
        video[0]
        assert video.cached_frames == 1  # no direction yet: nothing read ahead
        video[1]
        wait_for_prefetch(video)
        assert video.cached_frames == 5  # 0, 1 and 2..4
        video[8]
        video[7]
        wait_for_prefetch(video)
        assert video.cached_frames == 9  # 0..4, then 8, 7 and 6, 5 (4 was cached)
        assert [int(video[i][0, 0, 0]) for i in range(12)] == list(range(12))


def test_folder_frame_of_another_size_is_named(tmp_path):
    Image.new("RGB", (6, 4)).save(tmp_path / "0.png")
    Image.new("RGB", (5, 4)).save(tmp_path / "1.png")
    with open_video(tmp_path, prefetch=0) as video:
        video[0]
        with pytest.raises(VideoReadError, match=r"1\.png.*5x4.*6x4"):
            video[1]


def test_list_of_arrays_pil_images_and_paths(tmp_path):
    rgb = np.full((4, 6, 3), 7, np.uint8)
    grey = np.full((4, 6), 9, np.uint8)
    rgba = np.dstack([rgb, np.full((4, 6), 255, np.uint8)])
    palette = Image.new("P", (6, 4), 0)
    palette.putpalette([11, 12, 13] + [0] * 765)
    Image.new("L", (6, 4), 21).save(tmp_path / "grey.png")
    rgba_image = Image.new("RGBA", (6, 4), (1, 2, 3, 4))
    frames = [rgb, grey, rgba, palette, rgba_image, tmp_path / "grey.png", str(tmp_path / "grey.png")]
    with open_video(frames) as video:
        assert (len(video), video.height, video.width, video.fps) == (7, 4, 6, None)
        got = [tuple(int(c) for c in video[i][0, 0]) for i in range(len(video))]
        assert got == [(7, 7, 7), (9, 9, 9), (7, 7, 7), (11, 12, 13), (1, 2, 3), (21, 21, 21), (21, 21, 21)]
        assert all(frame.shape == (4, 6, 3) and frame.dtype == np.uint8 for frame in video)
    with open_video(tuple(frames[:2])) as video:
        assert len(video) == 2


def test_numpy_video_array():
    array = np.random.default_rng(0).integers(0, 256, (5, 4, 6, 3), dtype=np.uint8)
    with open_video(array) as video:
        assert (len(video), video.height, video.width) == (5, 4, 6)
        np.testing.assert_array_equal(video[2], array[2])
        np.testing.assert_array_equal(video[-1], array[4])
        np.testing.assert_array_equal(np.stack(list(video)), array)
        assert not video[0].flags.writeable and array.flags.writeable
        with pytest.raises(IndexError, match=r"frame 5 is out of range.*5 frames"):
            video[5]
        with pytest.raises(IndexError, match="out of range"):
            video[-6]
        with pytest.raises(TypeError, match="integers"):
            video[1.5]


# --- streams ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prefetch", [0, 3])
def test_generator_stream(prefetch):
    frames = (np.full((4, 6, 3), t, np.uint8) for t in range(10))
    with open_video(frames, prefetch=prefetch) as stream:
        assert (stream.num_frames, stream.is_seekable, stream.height, stream.width) == (None, False, 4, 6)
        with pytest.raises(TypeError, match="unknown length"):
            len(stream)
        with pytest.raises(TypeError, match="only be read in order"):
            stream[0]
        assert [int(f[0, 0, 0]) for f in stream] == list(range(10))
        with pytest.raises(VideoReadError, match="only once"):
            iter(stream)


@pytest.mark.parametrize("prefetch", [0, 3])
def test_generator_errors_reach_the_reader(prefetch):
    def frames():
        yield np.zeros((4, 6, 3), np.uint8)
        yield np.zeros((4, 6, 3), np.uint8)
        raise RuntimeError("camera unplugged")

    with open_video(frames(), prefetch=prefetch) as stream:
        with pytest.raises(RuntimeError, match="camera unplugged"):
            list(stream)


def test_stream_frame_of_another_size():
    frames = iter([np.zeros((4, 6, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)])
    with open_video(frames, prefetch=0) as stream:
        with pytest.raises(VideoReadError, match=r"frame 1 .*5x4.*6x4"):
            list(stream)


@pytest.mark.parametrize("prefetch", [0, 3])
def test_closing_a_stream_midway_stops_it(prefetch):
    stream = open_video((np.zeros((4, 6, 3), np.uint8) for _ in range(1000)), prefetch=prefetch)
    frames = iter(stream)
    next(frames)
    next(frames)
    stream.close()
    with pytest.raises(VideoReadError, match="closed"):
        next(frames)
    with pytest.raises(VideoReadError, match="closed"):
        iter(stream)


# --- errors ----------------------------------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(VideoReadError, match="does not exist"):
        open_video(tmp_path / "nope.mp4")


def test_corrupt_video_file(tmp_path):
    path = tmp_path / "x.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(VideoReadError, match=r"x\.mp4.*supported are MP4, MOV, WebM") as info:
        open_video(path)
    assert isinstance(info.value.__cause__, av.FFmpegError)


def test_video_with_zero_frames(tmp_path):
    path = tmp_path / "empty.avi"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        container.start_encoding()
    with pytest.raises(VideoReadError, match="zero frames"):
        open_video(path)


def test_folder_without_frames(tmp_path):
    with pytest.raises(VideoReadError, match="no image frames"):
        open_video(tmp_path)
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(VideoReadError, match="no image frames"):
        open_video(tmp_path)


def test_unreadable_frame_image(tmp_path):
    (tmp_path / "0.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(VideoReadError, match=r"0\.jpg"):
        open_video(tmp_path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ([], "empty"),
        ((), "empty"),
        (np.zeros((0, 4, 6, 3), np.uint8), "no frames"),
        (np.zeros((4, 6, 3), np.uint8), r"shape \[T, H, W, 3\].*single frame"),
        (np.zeros((2, 4, 6, 3), np.float32), "uint8"),
        (np.zeros((2, 4, 6, 2), np.uint8), r"shape \[T, H, W, 3\]"),
        ([np.zeros((4, 6, 2), np.uint8)], r"frame 0 has shape \[4, 6, 2\]"),
        ([np.zeros((4, 6, 3), np.float32)], "float32.*uint8"),
        ([np.zeros((4, 6, 3), np.uint8), 3], "frame 1 is of type int"),
        (iter([]), "produced no frames"),
        (42, "cannot open"),
        (b"bytes", "cannot open"),
    ],
)
def test_bad_sources(source, message):
    with pytest.raises(VideoReadError, match=message):
        open_video(source).close()


def test_closed_source_refuses_reads():
    video = open_video(np.zeros((2, 4, 6, 3), np.uint8))
    video.close()
    with pytest.raises(VideoReadError, match="closed"):
        video[0]


def test_bad_options():
    with pytest.raises(ValueError, match="prefetch"):
        open_video([np.zeros((4, 6, 3), np.uint8)], prefetch=-1)
