"""Export from the app: the options (as the ``export`` command's flags), a running ``ExportJob``
stepped a few milliseconds per UI frame, and the panel section that shows them.

``ExportController`` is plain Python (no window): the app hands it what to export
(``ExportSource``: the open clip and depth, the lens, the pull) and calls ``update()`` once per
frame on the GL thread; ``ExportJob.step(timeout=0)`` never waits for the decoder or the encoder,
so the preview keeps its frame rate while the job renders in the gaps. Every problem (a bad
output path, a full disk, a clip that stops decoding) ends as a one-line ``message`` with
``failed`` set, never an exception, and the app keeps running. ``draw_export`` is the thin ImGui
layer over it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import moderngl
from imgui_bundle import imgui

from rackfocus_live.colour import ColourPlan
from rackfocus_live.depth import DepthMapping
from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.errors import InputError
from rackfocus_live.export import (
    ExportJob,
    ExportProgress,
    ExportSettings,
    parse_range,
    resolve_range,
)
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.lens import LensState
from rackfocus_live.lens_character import LensCharacter
from rackfocus_live.media.probe import MediaInfo
from rackfocus_live.media.sequence import probe_media
from rackfocus_live.media.writer import CODECS, DEFAULT_PRESET
from rackfocus_live.settings import QUALITY_PRESETS, HighlightBoost
from rackfocus_live.timeline.keyframes import FocusTrack
from rackfocus_live.ui.files import SaveDialog

#: Seconds of each UI frame the export may take while the preview plays: half a 60 Hz frame, so
#: playback and the panel stay at the display's rate.
BUDGET_PLAYING_S = 0.008
#: ... and while the preview stands still (the UI only has to stay responsive).
BUDGET_PAUSED_S = 0.025
#: Frames rendered per UI frame at most, however fast they go.
MAX_FRAMES_PER_UPDATE = 8
#: x264/x265 speed presets, fastest first.
SPEED_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                 "slower", "veryslow")
#: What the default output name adds to the clip's name.
OUTPUT_TAG = "_rackfocus"
_SAVE_FILTERS = ["Video", "*.mp4 *.m4v *.mov *.mkv *.webm", "All files", "*"]
_RED = imgui.ImVec4(1.0, 0.45, 0.4, 1.0)
_DIM = imgui.ImVec4(0.7, 0.7, 0.7, 1.0)


@dataclass
class ExportOptions:
    """The panel's export options; the ``export`` command's flags of the same names.

    Attributes:
        output: output file as typed; relative paths are taken from the clip's folder (the app's
            working directory means nothing to its user); without a suffix the codec's default
            is added.
        codec: h264, hevc, prores or ffv1.
        crf: constant rate factor (h264/hevc only).
        preset: x264/x265 speed preset (h264/hevc only).
        frame_range: ``START:END`` as for ``--range`` (frames, or seconds like ``2.5s``; END
            exclusive; either side may be empty); empty exports the whole clip.
        quality: DOF quality preset of the export; None renders with the preview's preset.
        keep_partial: keep what was encoded when cancelled (``NAME.partial.EXT``).
        audio: copy the clip's audio streams.
        use_pull: follow the app's focus pull (when it has keys) rather than the current focus.
    """

    output: str = ""
    codec: str = "h264"
    crf: int = 18
    preset: str = DEFAULT_PRESET
    frame_range: str = ""
    quality: str | None = None
    keep_partial: bool = False
    audio: bool = True
    use_pull: bool = True

    def set_codec(self, codec: str) -> None:
        """Switch codec; an output ending in the old codec's default suffix gets the new one's,
        and the CRF goes to the new codec's default."""
        if codec not in CODECS or codec == self.codec:
            return
        old, new = CODECS[self.codec], CODECS[codec]
        out = Path(self.output) if self.output else None
        if out is not None and out.suffix.lower() == old.suffix and old.suffix != new.suffix:
            self.output = str(out.with_suffix(new.suffix))
        if new.crf is not None:
            self.crf = new.crf
        self.codec = codec

    def set_range_side(self, side: int, frame: int) -> None:
        """Set the range's start (side 0) or exclusive end (side 1) to a frame number."""
        sides: list[int | float | None]  # frames (int), seconds (float) or open (None)
        try:
            sides = list(parse_range(self.frame_range)) if self.frame_range.strip() \
                else [None, None]
        except InputError:
            sides = [None, None]
        sides[side] = max(0, int(frame))
        self.frame_range = ":".join("" if v is None else f"{v:g}s" if isinstance(v, float)
                                    else str(v) for v in sides)


@dataclass(frozen=True)
class ExportSource:
    """What the app has open and shows: the export renders it as the preview does.

    Attributes:
        clip: the clip.
        depth: its depth (None: everything at infinity).
        mapping: the depth convention in use.
        lens: the current lens (its focus is the constant focus without a pull).
        highlight: the highlight boost in use.
        character: the lens character in use.
        quality: the preview's quality preset (used unless the options name another).
        track: the app's focus pull, if any.
        info: the clip's probe, when the app has it (saves probing again for a range); a
            plate's rate and colour plan, or a video's named colour space, come from it.
        conditioning: the depth conditioning the preview uses.
        depth_channel: the EXR depth channel the preview reads.
        view: the OCIO (display, view) the preview shows, for video output (None: plain sRGB).
    """

    clip: Path
    depth: Path | None
    mapping: DepthMapping
    lens: LensState
    highlight: HighlightBoost = field(default_factory=HighlightBoost)
    character: LensCharacter = field(default_factory=LensCharacter)
    quality: str = "default"
    track: FocusTrack | None = None
    info: MediaInfo | None = None
    conditioning: DepthConditioning = field(default_factory=DepthConditioning)
    depth_channel: str | None = None
    view: tuple[str, str] | None = None


def default_output(clip: Path, codec: str) -> Path:
    """``CLIP_rackfocus.EXT`` next to the clip, numbered (``_2``, ``_3``...) past existing files
    so that an export never silently replaces an earlier one."""
    suffix = CODECS[codec].suffix
    candidate = clip.with_name(f"{clip.stem}{OUTPUT_TAG}{suffix}")
    n = 2
    while candidate.exists():
        candidate = clip.with_name(f"{clip.stem}{OUTPUT_TAG}_{n}{suffix}")
        n += 1
    return candidate


def build_settings(options: ExportOptions, source: ExportSource) -> ExportSettings:
    """The job's settings for these options and what the app shows.

    Raises:
        InputError: no output name, or a malformed range. (The job checks the rest.)
    """
    text = options.output.strip()
    if not text:
        raise InputError("choose an output file for the export")
    output = Path(text).expanduser()
    if not output.is_absolute():
        output = source.clip.parent / output
    frame_range = None
    if options.frame_range.strip():
        info = source.info or probe_media(source.clip)
        frame_range = resolve_range(parse_range(options.frame_range), info)
    track = source.track
    if not options.use_pull or track is None or len(track.keys) == 0:
        track = None
    return ExportSettings(
        clip=source.clip, depth=source.depth, output=output, lens=source.lens,
        mapping=source.mapping, track=track, codec=options.codec,
        crf=options.crf if CODECS[options.codec].crf is not None else None,
        preset=options.preset, frame_range=frame_range, quality=options.quality or source.quality,
        highlight=source.highlight, character=source.character, audio=options.audio,
        keep_partial=options.keep_partial, conditioning=source.conditioning,
        **clip_settings(source.info, source.view), depth_channel=source.depth_channel,
    )


def clip_settings(info: MediaInfo | None, view: tuple[str, str] | None = None) -> dict[str, Any]:
    """The export's fps and colour plan (input space, display view) for the clip the preview
    shows, so that they agree."""
    out: dict[str, Any] = {}
    plan = None
    if info is not None and info.plate is not None:
        out["fps"] = info.fps
        plan = info.plate.plan
    elif info is not None:
        plan = info.colour
    if view is not None:
        plan = dataclasses.replace(plan or ColourPlan(), display=view[0], view=view[1])
    if plan is not None:
        out["colour"] = plan
    return out


class ExportController:
    """One export at a time, driven from the UI loop; see the module docstring.

    Attributes:
        options: what the panel edits.
        job: the running export, or None.
        progress: the running job's progress, or the last job's final one.
        message: one line about the last start or the last job (shown in the panel).
        failed: ``message`` is an error (shown red).
        notes: warnings the job reported (depth alignment).
        max_frames_per_update: frames one ``update`` renders at most.
    """

    def __init__(self) -> None:
        self.options = ExportOptions()
        self.job: ExportJob | None = None
        self.progress: ExportProgress | None = None
        self.message: str | None = None
        self.failed = False
        self.notes: list[str] = []
        self.max_frames_per_update = MAX_FRAMES_PER_UPDATE
        self._dialog: SaveDialog | None = None
        self._suggested: str | None = None  # the output we filled in (the user did not type)

    @property
    def running(self) -> bool:
        return self.job is not None

    @property
    def busy(self) -> bool:
        """An export runs or the save dialog is open: the loop must keep calling ``update``."""
        return self.job is not None or self._dialog is not None

    # -- output name ---------------------------------------------------------------------------

    def suggest_output(self, clip: Path) -> None:
        """Fill in ``default_output(clip)``, unless the user typed or chose a name."""
        if self.options.output and self.options.output != self._suggested:
            return
        self._suggested = self.options.output = str(default_output(clip, self.options.codec))

    def browse(self, clip: Path | None) -> None:
        """Open the native save dialog; without one the text field is the way (said so)."""
        if self._dialog is not None:
            return
        start = self.options.output or (str(default_output(clip, self.options.codec))
                                        if clip is not None else "")
        try:
            self._dialog = SaveDialog("Export to", start, _SAVE_FILTERS)
        except RuntimeError as exc:
            self._say(str(exc), failed=False)

    def _poll_dialog(self) -> None:
        if self._dialog is None:
            return
        chosen = self._dialog.poll()
        if chosen is None:
            return
        self._dialog = None
        if chosen:
            self.options.output = chosen

    # -- the job -------------------------------------------------------------------------------

    def start(self, ctx: moderngl.Context, programs: ProgramCache | None,
              source: ExportSource | None) -> bool:
        """Check the options and start exporting ``source``. Returns success; on failure the
        reason is in ``message`` and nothing was left open or written.

        Args:
            ctx: the app's GL context (current, on this thread).
            programs: the app's shader cache, shared so no shader is compiled twice.
            source: what to export; None when no clip is open.
        """
        if self.job is not None:
            self._say("an export is already running")
            return False
        if source is None:
            self._say("open a clip first")
            return False
        self.notes = []
        self.progress = None
        job: ExportJob | None = None
        try:
            settings = build_settings(self.options, source)
            job = ExportJob(ctx, settings, programs=programs, warn=self.notes.append)
            job.start()
        except Exception as exc:  # InputError, and defensively anything else: never a traceback
            if job is not None:
                self._close_quietly(job)
            self._say(_reason(exc))
            return False
        self.job = job
        self.progress = job.progress
        self.message, self.failed = None, False
        return True

    def update(self, budget_s: float = BUDGET_PLAYING_S) -> ExportProgress | None:
        """Poll the save dialog and advance the export for about ``budget_s`` seconds (never
        waiting for the decoder or the encoder); finish up when the job ends. GL thread."""
        self._poll_dialog()
        job = self.job
        if job is None:
            return self.progress
        deadline = time.perf_counter() + budget_s
        progress = job.progress
        try:
            # One frame per step, so the time budget is checked between frames.
            for _ in range(max(1, self.max_frames_per_update)):
                before = progress.frames
                progress = job.step(max_frames=1, timeout=0.0)
                # Stop when nothing was ready (the decoder or the encoder is behind: come back
                # next frame rather than wait), when the job ended, or when time is up.
                if job.finished or progress.frames == before or time.perf_counter() >= deadline:
                    break
        except Exception as exc:  # the job has torn itself down and removed its partial file
            self.progress = job.progress
            self.job = None
            self._close_quietly(job)
            self._say(_reason(exc))
            return self.progress
        self.progress = progress
        if job.finished:
            self._end(job)
        return self.progress

    def cancel(self) -> None:
        """Stop the export; the next ``update`` tears it down (removing the partial file unless
        ``keep_partial``)."""
        if self.job is not None:
            self.job.cancel()

    def close(self) -> None:
        """Cancel a running export now and wait for its threads (the app is closing); close the
        save dialog. Idempotent."""
        if self._dialog is not None:
            dialog, self._dialog = self._dialog, None
            dialog.kill()
        job, self.job = self.job, None
        if job is not None:
            try:
                job.close()
            finally:
                self.progress = job.progress
            self._report_end(job.progress)

    # -- internals -----------------------------------------------------------------------------

    def _end(self, job: ExportJob) -> None:
        self.job = None
        self._close_quietly(job)
        self._report_end(job.progress)
        if self.options.output == self._suggested and job.progress.state == "done":
            # The next export gets a fresh name instead of replacing this one.
            self._suggested = None
            self.options.output = ""
            self.suggest_output(job.settings.clip)

    def _report_end(self, p: ExportProgress) -> None:
        if p.state == "done":
            self._say(f"wrote {p.output} ({p.frames} frames in {p.elapsed_s:.1f} s)",
                      failed=False)
        elif p.state == "cancelled":
            where = f"partial file kept: {p.output}" if p.output else "partial file removed"
            self._say(f"export cancelled after {p.frames} of {p.total} frames; {where}",
                      failed=False)

    def _say(self, message: str, *, failed: bool = True) -> None:
        self.message, self.failed = message, failed

    @staticmethod
    def _close_quietly(job: ExportJob) -> None:
        # Already reported (or about to be): a second error would only hide the first.
        with contextlib.suppress(Exception):
            job.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, InputError):
        return str(exc)
    return f"export failed: {exc}"


def clock(seconds: float) -> str:
    """``M:SS`` (or ``H:MM:SS``) for the progress line."""
    s = max(0, round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# -- the panel section ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportPanelInfo:
    """What the export section shows about the app (read-only)."""

    clip: Path | None = None
    has_pull: bool = False
    focus_m: float = 0.0
    frame: int = 0


def draw_export(ctl: ExportController, info: ExportPanelInfo) -> bool:
    """The Export section: options, Export / Cancel, progress, messages. Returns whether Export
    was pressed (the app starts the job: it owns the GL context and knows what is open)."""
    start = False
    o = ctl.options
    if imgui.collapsing_header("Export##section"):
        imgui.begin_disabled(ctl.running)
        _output_row(ctl, info)
        codecs = list(CODECS)
        changed, idx = imgui.combo("codec", codecs.index(o.codec), codecs)
        if changed:
            o.set_codec(codecs[idx])
        if CODECS[o.codec].crf is not None:
            imgui.set_next_item_width(110)
            _, o.crf = imgui.slider_int("CRF", o.crf, 0, 51)
            imgui.same_line()
            imgui.set_next_item_width(110)
            presets = list(SPEED_PRESETS)
            cur = presets.index(o.preset) if o.preset in presets else presets.index(DEFAULT_PRESET)
            changed, idx = imgui.combo("speed", cur, presets)
            if changed:
                o.preset = presets[idx]
        imgui.set_next_item_width(150)
        _, o.frame_range = imgui.input_text_with_hint("range", "all frames", o.frame_range)
        imgui.set_item_tooltip("START:END in frames (END not included), or seconds like 2.5s")
        imgui.same_line()
        if imgui.small_button("in"):
            o.set_range_side(0, info.frame)
        imgui.set_item_tooltip("start the range at the playhead")
        imgui.same_line()
        if imgui.small_button("out"):
            o.set_range_side(1, info.frame + 1)
        imgui.set_item_tooltip("end the range after the playhead's frame")
        names = ["as preview", *QUALITY_PRESETS]
        cur = names.index(o.quality) if o.quality in names else 0
        changed, idx = imgui.combo("export quality", cur, names)
        if changed:
            o.quality = names[idx] if idx else None
        _, o.keep_partial = imgui.checkbox("keep partial file on cancel", o.keep_partial)
        imgui.same_line()
        _, o.audio = imgui.checkbox("audio", o.audio)
        if info.has_pull:
            _, o.use_pull = imgui.checkbox("follow the pull", o.use_pull)
        follows = info.has_pull and o.use_pull
        imgui.text_colored(_DIM, "focus: the pull's keys" if follows
                           else f"focus: constant {info.focus_m:.3g} m")
        imgui.end_disabled()
        imgui.begin_disabled(ctl.running or info.clip is None)
        start = imgui.button("Export##start", imgui.ImVec2(100, 0))
        imgui.end_disabled()
    _progress(ctl)
    return start


def _output_row(ctl: ExportController, info: ExportPanelInfo) -> None:
    imgui.set_next_item_width(-40)
    _, ctl.options.output = imgui.input_text_with_hint("##output", "output file (.mp4 .mov .mkv)",
                                                       ctl.options.output)
    imgui.same_line()
    if imgui.button("...##browse"):
        ctl.browse(info.clip)
    imgui.set_item_tooltip("choose the output file")


def _progress(ctl: ExportController) -> None:
    p = ctl.progress
    if ctl.running and p is not None:
        text = f"{p.frames}/{p.total} frames"
        imgui.progress_bar(p.fraction, imgui.ImVec2(-70, 0), text)
        imgui.same_line()
        if imgui.button("Cancel"):
            ctl.cancel()
        eta = "--:--" if p.eta_s is None else clock(p.eta_s)
        state = "encoding the last frames" if p.state == "finishing" else f"ETA {eta}"
        imgui.text_colored(_DIM, f"{p.fps:.1f} fps  {state}  elapsed {clock(p.elapsed_s)}")
    for note in ctl.notes[-2:]:
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(_DIM, note)
        imgui.pop_text_wrap_pos()
    if ctl.message:
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(_RED if ctl.failed else _DIM, ctl.message)
        imgui.pop_text_wrap_pos()
