"""`masklet serve`: the annotation app (browser UI and REST API) over a data folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from masklet.cli.common import add_model_options, resolve_model
from masklet.cli.errors import CliError

MIB = 2**20
GRACEFUL_SHUTDOWN_S = 15  # what the requests in flight get to finish once a stop begins


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="the annotation app: browser UI and REST API for interactive video segmentation",
        description="Serve the annotation app: upload videos or image folders, click objects, propagate them "
        "through the video, correct, undo and export (COCO, DAVIS, SA-V, YOLO-seg, overlay MP4). Projects, "
        "prompts and masks are kept in SQLite under --data, or in the database of --database-url (PostgreSQL); "
        "uploaded media stay under --data. The API is documented at /docs and /openapi.json.",
        epilog="example: masklet serve --data ~/annotations --port 8000 --token s3cret  "
        "(then open http://127.0.0.1:8000/?token=s3cret)",
    )
    parser.add_argument("--data", default="masklet-data", metavar="DIR",
                        help="folder for the database and uploaded media (default: ./masklet-data)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--token", default=os.environ.get("MASKLET_TOKEN"),
                        help="require this token on every request (default: $MASKLET_TOKEN; none: no auth)")
    parser.add_argument("--database-url", metavar="URL",
                        help="SQLAlchemy URL of another database: PostgreSQL as postgresql://USER:PASSWORD@HOST/DB "
                        "(through psycopg 3: pip install 'masklet[postgres]'); one database per --data folder "
                        "(default: SQLite in WAL mode at DIR/masklet.db)")
    parser.add_argument("--max-sessions", type=int, default=4, metavar="N",
                        help="videos whose model session is kept in memory (LRU; default: 4)")
    parser.add_argument("--max-session-mib", type=float, default=4096, metavar="MIB",
                        help="memory idle sessions may hold before the least recently used are dropped (default: 4096)")
    parser.add_argument("--max-upload-mib", type=float, default=2048, metavar="MIB",
                        help="largest upload (default: 2048)")
    parser.add_argument("--max-frames", type=int, default=10_000, metavar="N",
                        help="most frames of one video or image folder (default: 10000)")
    parser.add_argument("--suggest-points", type=int, default=16, metavar="N",
                        help="'segment everything' suggestions: a grid of N x N points (default: 16)")
    parser.add_argument("--suggest-thresholds", metavar="IOU,STABILITY",
                        help="suggest only masks the model scores above IOU and whose stability is at least "
                        "STABILITY (default: the model's own: 0.8,0.95 for official checkpoints, measured ones for "
                        "the bundled models, see masklet.predict.automatic.MODEL_THRESHOLDS)")
    add_model_options(parser)
    parser.set_defaults(func=run_serve)


def settings_from(args: argparse.Namespace):
    from masklet.serve.settings import ServeSettings, UploadLimits

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a port (1..65535)")
    if args.max_sessions < 1:
        raise CliError(f"--max-sessions must be at least 1, got {args.max_sessions}")
    if args.max_upload_mib <= 0 or args.max_session_mib <= 0 or args.max_frames < 1:
        raise CliError("--max-upload-mib, --max-session-mib and --max-frames must be positive")
    if args.token is not None and not args.token.strip():
        raise CliError("--token is empty; give a token or leave it out")
    iou = stability = None
    if args.suggest_thresholds is not None:
        try:
            iou, stability = (float(v) for v in args.suggest_thresholds.split(","))
        except ValueError:
            raise CliError(f"--suggest-thresholds {args.suggest_thresholds!r}: give two numbers IOU,STABILITY, "
                           "e.g. 0.8,0.95") from None
    if args.suggest_points < 1:
        raise CliError(f"--suggest-points must be at least 1, got {args.suggest_points}")
    data = Path(args.data)
    if data.exists() and not data.is_dir():
        raise CliError(f"--data {data} is a file; give a folder")
    uploads = UploadLimits(max_bytes=int(args.max_upload_mib * MIB), max_frames=args.max_frames)
    return ServeSettings(data_dir=data, database_url=args.database_url, token=args.token,
                         max_sessions=args.max_sessions, max_session_bytes=int(args.max_session_mib * MIB),
                         uploads=uploads, suggestion_points=args.suggest_points, suggestion_iou_thresh=iou,
                         suggestion_stability_thresh=stability)


def run_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from masklet.serve.app import create_app
        from masklet.serve.workspace import Workspace
    except ImportError as e:
        raise CliError(f"masklet serve needs the 'serve' extra ({e.name} is missing): pip install 'masklet[serve]'") from None
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from masklet.serve.datadir import DataDir, DataDirInUse, ForeignMedia, UnsafePath
    from masklet.serve.storage.dialects import shown_url
    from masklet.serve.storage.migrations import SchemaError

    settings = settings_from(args)
    try:  # the folder is taken (or refused) before the model is loaded, which can take a while
        data = DataDir(settings.data_dir)
    except (DataDirInUse, UnsafePath, OSError) as e:
        raise CliError(f"cannot open --data {settings.data_dir}: {e}") from None
    try:
        model = resolve_model(args)
    except BaseException:
        data.close()
        raise
    try:
        ws = Workspace(settings, model, model_name=args.model or "masklet-nano", data=data)
    except SchemaError as e:
        where = f"--data {settings.data_dir}"
        if settings.database_url:
            where = f"--database-url {shown_url(settings.database_url)}"
        raise CliError(f"cannot open {where}: {e}") from None
    except (DataDirInUse, ForeignMedia, UnsafePath, OSError) as e:
        raise CliError(f"cannot open --data {settings.data_dir}: {e}") from None
    except ImportError as e:
        raise CliError(f"--database-url needs a database driver that is not installed ({e.name}); "
                       "for PostgreSQL: pip install 'masklet[postgres]'") from None
    except (ArgumentError, SQLAlchemyError) as e:
        raise CliError(f"cannot open the database: {str(e).splitlines()[0]}") from None
    if ws.interrupted:
        print(f"masklet serve: {ws.interrupted} propagation(s) were cut off by the last stop; their stored frames are kept")
    database = f", database: {shown_url(settings.database_url)}" if settings.database_url else ""
    print(f"masklet serve: http://{args.host}:{args.port}/ (data: {ws.data.root}{database})", flush=True)
    config = uvicorn.Config(create_app(ws), host=args.host, port=args.port, log_level="warning",
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    stopping_server(uvicorn.Server, ws)(config).run()
    return 0


def stopping_server(server_class, ws):
    """A uvicorn server class that, as it begins to stop (Ctrl-C, SIGTERM), cancels the
    propagations and refuses requests that would wait for a session: the requests in flight
    and the event streams then end by themselves, instead of being cut off (a 500) after
    GRACEFUL_SHUTDOWN_S."""

    class StoppingServer(server_class):
        async def shutdown(self, sockets=None) -> None:
            ws.stop_waiting()
            await super().shutdown(sockets)

    return StoppingServer
