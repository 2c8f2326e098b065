"""`masklet label-studio`: a Label Studio ML backend serving Masklet's masks and tracks."""

from __future__ import annotations

import argparse
import os

from masklet.cli.common import add_model_options, resolve_model
from masklet.cli.errors import CliError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "label-studio", help="a Label Studio ML backend: masks from smart keypoints and boxes, boxes tracked in videos",
        description="Serve the Label Studio ML backend protocol (/health, /setup, /predict, /webhook). In a Label "
        "Studio project with an <Image> tag, smart <KeyPointLabels> / <RectangleLabels> and a <BrushLabels>, each "
        "interactive prompt comes back as a brush mask; with a <Video> tag and a smart <VideoRectangle>, the drawn "
        "box is tracked and comes back as a box on every frame. 'Retrieve predictions' takes the prompts of each "
        "task's latest annotation. Task media are fetched from Label Studio with the URL and token its /setup "
        "call gives, or those given here.",
        epilog="example: masklet label-studio --port 9090, then in Label Studio connect http://localhost:9090 "
        "with interactive pre-annotations on (Label Studio must be started with ML_BLOCK_LOCAL_IP=false to reach "
        "a backend on the same machine)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9090, help="port (default: 9090)")
    parser.add_argument("--label-studio-url", default=os.environ.get("LABEL_STUDIO_URL"), metavar="URL",
                        help="where Label Studio runs, to fetch task media from (default: $LABEL_STUDIO_URL, else "
                        "what Label Studio's /setup call says)")
    parser.add_argument("--label-studio-token", default=os.environ.get("LABEL_STUDIO_API_KEY"), metavar="TOKEN",
                        help="Label Studio API token: a legacy token or a personal access token (default: "
                        "$LABEL_STUDIO_API_KEY, else the project owner's legacy token from /setup)")
    parser.add_argument("--track-frames", type=int, default=100, metavar="N",
                        help="video: frames tracked after the last drawn keyframe (default: 100)")
    add_model_options(parser)
    parser.set_defaults(func=run_label_studio)


def run_label_studio(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from masklet.serve.label_studio import MaskletBackend, create_app
    except ImportError as e:
        raise CliError(f"masklet label-studio needs the 'serve' extra ({e.name} is missing): pip install 'masklet[serve]'") from None
    from masklet import __version__

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a port (1..65535)")
    if args.track_frames < 0:
        raise CliError(f"--track-frames must be >= 0, got {args.track_frames}")
    url = args.label_studio_url
    if url and not url.startswith(("http://", "https://")):
        raise CliError(f"--label-studio-url {url!r} must start with http:// or https://")
    model = resolve_model(args)
    backend = MaskletBackend(model, f"masklet-{__version__}/{args.model or 'masklet-nano'}", track_frames=args.track_frames)
    print(f"masklet label-studio: http://{args.host}:{args.port}/ (connect it in Label Studio as the project's model)", flush=True)
    uvicorn.run(create_app(backend, url, args.label_studio_token), host=args.host, port=args.port, log_level="warning")
    return 0
