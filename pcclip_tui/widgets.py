"""Small rendering helpers shared by the screens: progress bars, durations, terminal images."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

if TYPE_CHECKING:
    from PIL.Image import Image

STATUS_STYLE = {
    "running": "bold cyan",
    "cancelling": "magenta",
    "queued": "yellow",
    "pending": "yellow",
    "done": "green",
    "failed": "bold red",
    "cancelled": "magenta",
}


def status_text(status: str | None) -> Text:
    return Text(status or "-", style=STATUS_STYLE.get(status or "", ""))


STALE_AFTER_S = 60.0  # the runner's default: a running job silent for longer has lost its worker


def job_status_text(job: dict[str, Any]) -> Text:
    """A job's status, flagged when it says running but its heartbeat went quiet (a killed worker)."""
    text = status_text(job["status"])
    if job["status"] in ("running", "cancelling"):
        beat = parse_time(job.get("heartbeat_at"))
        if beat is not None and (now() - beat).total_seconds() > STALE_AFTER_S:
            text.append(" stale", style="bold red")
    return text


def bar(fraction: float | None, width: int = 10) -> Text:
    """A text progress bar that fits in a table cell: `██████░░░░  60%`."""
    f = min(1.0, max(0.0, fraction or 0.0))
    full = round(f * width)
    text = Text("█" * full, style="green")
    text.append("░" * (width - full), style="grey50")
    text.append(f" {f * 100:3.0f}%")
    return text


def now() -> datetime:
    """The clock durations are measured against (snapshot tests pin it)."""
    return datetime.now(timezone.utc)


def parse_time(value: str | None) -> datetime | None:
    """Timestamps are stored as UTC text (`YYYY-MM-DD HH:MM:SS.ffffff+00:00`)."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def duration(start: str | None, end: str | None = None) -> str:
    """Elapsed time between two stored timestamps (until now when `end` is missing)."""
    t0 = parse_time(start)
    if t0 is None:
        return "-"
    t1 = parse_time(end) or now()
    secs = max(0, int((t1 - t0).total_seconds()))
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m{secs % 60:02d}s"
    return f"{secs // 3600}h{secs % 3600 // 60:02d}m"


def short_time(value: str | None) -> str:
    dt = parse_time(value)
    return dt.strftime("%m-%d %H:%M") if dt else "-"


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def mean_se(mean: float | None, se: float | None) -> str:
    """`72.4 ± 1.3` (percent points)."""
    if mean is None:
        return "-"
    return f"{100 * mean:5.1f} ± {100 * se:.1f}" if se is not None else f"{100 * mean:5.1f}"


def one_line(value: Any, limit: int = 200) -> str:
    s = " ".join(str(value or "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def spec_description(spec_text: str) -> str:
    """The spec's `description = "..."` line, else its first comment line."""
    comment = ""
    for line in spec_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("description") and "=" in stripped:
            return stripped.split("=", 1)[1].strip().strip('"')
        if stripped.startswith("#") and not comment:
            comment = stripped.lstrip("# ")
    return comment


def prompt_text(prompt_id: str | None, caption_i: str | None = None, caption_j: str | None = None) -> str:
    """The prompt template behind a stored prompt id (rendered with the pair's captions when given)."""
    from pcclip.errors import PcclipError
    from pcclip.llm.prompts import get_prompt

    try:
        tpl = get_prompt(prompt_id or "")
    except PcclipError:
        return f"(prompt {prompt_id!r} is unknown to this pcclip version)"
    if caption_i is not None and caption_j is not None:
        return tpl.render(caption_i, caption_j)
    return tpl.template


class HalfBlockImage:
    """A PIL image drawn with '▀' cells (foreground = upper pixel, background = lower pixel).

    Plain 24-bit colour escape codes, so it works over SSH in any modern terminal without an image protocol.
    Sized when drawn, from the space the widget gives it (so it follows terminal resizes).
    """

    def __init__(self, image: Image, width: int | None = None, max_height: int | None = None) -> None:
        self.source = image.convert("RGB")
        self.width, self.max_height = width, max_height
        self._cache: dict[tuple[int, int | None], list[list[Segment]]] = {}

    def lines(self, max_width: int, max_height: int | None) -> list[list[Segment]]:
        """The picture as rows of cells, at most `max_width` wide and `max_height` rows tall."""
        limit = self.max_height or max_height
        key = (max_width, limit)
        if key not in self._cache:
            img = self.source
            w = max(1, min(self.width or max_width, max_width))
            h = max(2, round(img.height * w / img.width))  # one pixel row per half cell keeps pixels square
            if limit and h > 2 * limit:
                h = 2 * limit
                w = max(1, min(w, round(img.width * h / img.height)))
            h += h % 2
            px = img.resize((w, h)).load()
            self._cache[key] = [
                [Segment("▀", Style.from_color(_rgb(px[x, y]), _rgb(px[x, y + 1]))) for x in range(w)]
                for y in range(0, h, 2)
            ]
        return self._cache[key]

    def __rich_console__(self, console: Any, options: Any):
        for line in self.lines(options.max_width, options.height):
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Any, options: Any):
        from rich.measure import Measurement

        return Measurement(1, min(options.max_width, self.width or options.max_width))


class ImagePair:
    """Two images side by side, each given half the width (a comparison's pair)."""

    def __init__(self, left: Image, right: Image, max_height: int | None = None) -> None:
        self.left, self.right = HalfBlockImage(left), HalfBlockImage(right)
        self.max_height = max_height

    def __rich_console__(self, console: Any, options: Any):
        w = max(1, (options.max_width - 1) // 2)
        height = options.height or self.max_height
        left, right = self.left.lines(w, height), self.right.lines(w, height)
        for i in range(max(len(left), len(right))):
            for side in (left, right):
                row = side[i] if i < len(side) else []
                yield from row
                yield Segment(" " * (w - len(row) + (1 if side is left else 0)))
            yield Segment.line()


def _rgb(p: tuple[int, int, int]):
    from rich.color import Color

    return Color.from_rgb(*p[:3])
