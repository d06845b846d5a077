"""Focus pulls over clip time: easing, keyframes, live recording, the keyframe file, interop.

Pure Python and numpy: nothing here imports moderngl, glfw or imgui (a test enforces it), so the
timeline runs in the CLI, in tests and in the export without a GPU or a window.
"""

from rackfocus_live.timeline.easing import Easing, get_easing
from rackfocus_live.timeline.keyframes import FocusTrack, Key, Mark, Samples
from rackfocus_live.timeline.recorder import Recorder
from rackfocus_live.timeline.simplify import CocTolerance
from rackfocus_live.timeline.undo import TrackEditor

__all__ = [
    "CocTolerance",
    "Easing",
    "FocusTrack",
    "Key",
    "Mark",
    "Recorder",
    "Samples",
    "TrackEditor",
    "get_easing",
]
