"""Video input for the video predictor: frames from files, folders, arrays and live streams.

`open_video` is the way in. It takes a video file (any format FFmpeg decodes through
PyAV: .mp4 .mov .webm .avi .mkv ...), a folder of image frames (.jpg .jpeg .png .bmp
.webp, in natural sort order), a list or tuple of frames (arrays, PIL images or image
paths), an array [T, H, W, 3], a stream URL (rtsp://, http://, ...) or any other
iterable of frames, and returns a `VideoSource` whose frames are read-only RGB uint8
arrays [H, W, 3]. The last two can only be read in order.

Nothing is decoded when a source opens. Video files and image files are read one frame at
a time when asked for: recent frames stay in a byte-bounded LRU cache and the next few in
the direction of travel are read on a background thread. Frames already in memory are
handed out without either, and streams are read ahead through a small queue.

The modules, each importing only those listed before it:

- `source`: `VideoSource`, `VideoReadError`, `as_rgb_frame`
- `cache`: `FrameCache`
- `random_access`: `RandomAccessSource`, the on-demand reading, caching and prefetching
- `frames`: `FrameSequence`, for image files, PIL images and arrays
- `stream`: `FrameStream`, for iterators read once in order
- `pyav`: video files and network streams decoded with PyAV
- `factory`: `open_video`
"""

from masklet.io.video.cache import FrameCache
from masklet.io.video.factory import open_video
from masklet.io.video.frames import FrameSequence
from masklet.io.video.random_access import RandomAccessSource
from masklet.io.video.source import VideoReadError, VideoSource, as_rgb_frame
from masklet.io.video.stream import FrameStream

__all__ = [
    "FrameCache", "FrameSequence", "FrameStream", "RandomAccessSource", "VideoReadError", "VideoSource",
    "as_rgb_frame", "open_video",
]
