"""What Masklet needs from a Label Studio labeling config (the project's XML): the image and
video tags with the task field each shows, and the control tags that draw on them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from masklet.serve.errors import BadRequest

DEFAULT_FRAMERATE = 24.0  # what Label Studio's <Video> assumes without a framerate attribute


@dataclass(frozen=True)
class MediaTag:
    """An <Image> or <Video> tag: `field` is the task data key its `value="$field"` names."""

    kind: str  # "image" or "video"
    name: str
    field: str
    framerate: float = DEFAULT_FRAMERATE


@dataclass(frozen=True)
class ControlTag:
    """A control tag (<BrushLabels>, <KeyPointLabels>, <VideoRectangle>, ...) and its labels."""

    kind: str  # the tag name in lower case, as the results' "type"
    name: str
    to_name: str
    labels: tuple[str, ...]


class LabelConfig:
    """The media and control tags of a labeling config."""

    def __init__(self, xml: str) -> None:
        if not isinstance(xml, str) or not xml.strip():
            raise BadRequest("the request has no label_config: Label Studio sends the project's labeling config with every request")
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as e:
            raise BadRequest(f"the label_config is not valid XML ({e})") from None
        self.media: dict[str, MediaTag] = {}
        self.controls: list[ControlTag] = []
        for element in root.iter():
            kind, attrs = str(element.tag).lower(), element.attrib
            if kind in ("image", "video") and "name" in attrs and attrs.get("value", "").startswith("$"):
                self.media[attrs["name"]] = MediaTag(kind, attrs["name"], attrs["value"][1:], _framerate(attrs))
            elif "toName" in attrs and "name" in attrs:
                labels = tuple(child.attrib["value"] for child in element
                               if str(child.tag).lower() == "label" and "value" in child.attrib)
                self.controls.append(ControlTag(kind, attrs["name"], attrs["toName"], labels))

    def media_tag(self, name: str, kind: str) -> MediaTag:
        tag = self.media.get(name)
        if tag is None or tag.kind != kind:
            shown = ", ".join(f"<{t.kind.title()} name={t.name!r}>" for t in self.media.values()) or "none"
            raise BadRequest(f"the prompt points to {name!r}, which is no <{kind.title()}> tag of the labeling config "
                             f"(its image and video tags: {shown})")
        return tag

    def control(self, kind: str, to_name: str) -> ControlTag:
        """The first control tag of this kind on the media tag `to_name`."""
        for tag in self.controls:
            if tag.kind == kind and tag.to_name == to_name:
                return tag
        raise BadRequest(f"the labeling config has no <{_tag_name(kind)} toName={to_name!r}>: Masklet returns its masks "
                         f"through one, e.g. <BrushLabels name=\"mask\" toName=\"{to_name}\"> with the prompts' labels")


def _framerate(attrs: dict) -> float:
    try:
        framerate = float(attrs.get("framerate", DEFAULT_FRAMERATE))
    except ValueError:
        raise BadRequest(f"the <Video> framerate {attrs['framerate']!r} is not a number") from None
    if not framerate > 0:
        raise BadRequest(f"the <Video> framerate must be positive, got {framerate}")
    return framerate


def _tag_name(kind: str) -> str:
    return {"brushlabels": "BrushLabels", "videorectangle": "VideoRectangle"}.get(kind, kind)
