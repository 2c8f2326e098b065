"""Everything one server holds, wired once: the data folder, the database, the frame store,
the session pool (sessions built by replaying a video's stored log), the propagation jobs,
the annotator and the suggestion cache.

A workspace holds its data folder's lock (`DataDir`) until it is closed: one server per
folder. Opening a workspace after a stop marks the propagations left running as interrupted (the
frames they stored stay) and deletes media folders no stored media uses (an upload cut off),
unless the database knows none of the folder's media (another database): then it refuses.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from masklet.io.video import open_video
from masklet.predict.session import TrackingOptions, TrackingSession
from masklet.serve.annotation import Annotator
from masklet.serve.datadir import DataDir, ForeignMedia
from masklet.serve.frames import FrameStore
from masklet.serve.propagation import JobRegistry
from masklet.serve.replay import replay
from masklet.serve.sessions import LiveSession, SessionPool
from masklet.serve.settings import ServeSettings
from masklet.serve.storage import Catalog, History, Masklets, open_database
from masklet.serve.storage.database import sqlite_url
from masklet.serve.storage.dialects import shown_url
from masklet.serve.storage.records import Media
from masklet.serve.suggestions import SuggestionCache


class Workspace:
    def __init__(self, settings: ServeSettings, model, model_name: str = "model", data: DataDir | None = None) -> None:
        """`data`: the data folder already opened (locked), else it is opened here; either way
        the workspace closes it (when it is closed, or fails to open)."""
        self.settings, self.model, self.model_name = settings, model.eval(), model_name
        self.data = DataDir(settings.data_dir) if data is None else data  # locked until the workspace is closed
        try:
            self.engine = open_database(settings.database_url or sqlite_url(self.data.root))
        except BaseException:
            self.data.close()
            raise
        self.catalog, self.history, self.masklets = Catalog(self.engine), History(self.engine), Masklets(self.engine)
        try:
            self._check_media_belong_here()
        except BaseException:
            self.engine.dispose()
            self.data.close()
            raise
        self.frames = FrameStore(self.data, cache_mib=settings.video_cache_mib)
        self.pool = SessionPool(self._build_session, self.history.signature, settings.max_sessions,
                                settings.max_session_bytes, settings.request_wait_s)
        self.jobs = JobRegistry(self.pool, self.history)
        self.annotator = Annotator(settings, self.catalog, self.history, self.masklets, self.pool, self.jobs)
        self.suggestions = SuggestionCache(self.model, settings.suggestion_points, settings.suggestion_iou_thresh,
                                           settings.suggestion_stability_thresh)
        self.interrupted = self.history.interrupt_unfinished()
        self.swept = self.data.sweep({m.path for m in self.catalog.all_media()})

    def _check_media_belong_here(self) -> None:
        """Refuse a database that does not know the data folder's media (a new or another
        database given with --database-url for a folder used before): the sweep below would
        delete them all. A folder the database does not know is otherwise an upload cut off by
        a stop, into a project the database has."""
        folders = self.data.media_folders()
        known = {"/".join(PurePosixPath(m.path).parts[:2]) for m in self.catalog.all_media()}
        if not folders or known.intersection(folders):
            return
        if known or not self.catalog.projects():
            database = shown_url(self.settings.database_url) if self.settings.database_url else "its masklet.db"
            raise ForeignMedia(
                f"{self.data.root} holds {len(folders)} uploaded media that the database ({database}) does not know: "
                "they were stored with another database. Give the --database-url they belong to, or another "
                "--data folder (the media are left as they are)")

    def _build_session(self, media_id: int) -> LiveSession:
        """A video's session rebuilt from its stored log."""
        media = self.catalog.media(media_id)
        signature = self.history.signature(media_id)
        video = open_video(self.data.resolve(media.path), cache_mib=self.settings.video_cache_mib)
        try:
            session = TrackingSession.for_video(self.model, video, TrackingOptions())
            replay(session, self.history.steps(media_id))
        except BaseException:
            video.close()
            raise
        return LiveSession(media_id, session, video, signature)

    def forget_media(self, media_id: int) -> None:
        """Drop what is held in memory for a media (its session, open video, suggestions)."""
        self.pool.drop(media_id)
        self.frames.forget(media_id)
        self.suggestions.forget(media_id)

    def delete_media_files(self, media: Media) -> None:
        """Forget a deleted media and delete its folder media/<name>/."""
        self.forget_media(media.id)
        self.data.remove("/".join(PurePosixPath(media.path).parts[:2]))

    def stop_waiting(self) -> None:
        """The server has begun to stop: cancel the propagations (their event streams end, with
        the frames stored so far) and refuse requests that would wait for a session (503), so
        that the requests in flight end within the graceful shutdown instead of being cut off."""
        self.jobs.cancel_all()
        self.pool.stop_waiting()

    def close(self) -> None:
        self.jobs.shutdown()
        self.pool.close()
        self.frames.close()
        self.engine.dispose()
        self.data.close()
