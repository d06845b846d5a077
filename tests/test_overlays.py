"""The viewer pass and overlays on synthetic textures: placement, A/B split, depth view, focus
plane colours, peaking, CoC heat map."""

from __future__ import annotations

from collections.abc import Iterator

import moderngl
import numpy as np
import pytest

from rackfocus_live.gpu.context import restore_framebuffer
from rackfocus_live.gpu.overlays import OverlayParams, ViewerPass

pytestmark = pytest.mark.gl

W, H = 64, 32


class Scene:
    """Synthetic inputs (rows top-down, row 0 uploaded first = v 0 = first image row)."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        result = np.full((H, W, 4), 128, np.uint8)
        result[..., 3] = 255
        result[:, 48:, :3] = 255  # a sharp vertical edge between columns 47 and 48
        result[:4, :, :3] = 0  # the first image rows are black: shows orientation
        original = np.full((H, W, 4), 0.2, np.float32)  # linear 0.2 -> sRGB ~0.485
        inv_depth = np.full((H, W), 1.0 / 8.0, np.float32)
        inv_depth[:, :16] = 1.0  # 1 m on the left, 8 m elsewhere
        coc = np.zeros((H, W), np.float32)
        coc[:, :21] = -10.0
        coc[:, 43:] = 10.0
        self.result = ctx.texture((W, H), 4, result.tobytes())
        self.original = ctx.texture((W, H), 4, original.tobytes(), dtype="f4")
        self.inv_depth = ctx.texture((W, H), 1, inv_depth.tobytes(), dtype="f4")
        self.coc = ctx.texture((W, H), 1, coc.astype(np.float16).tobytes(), dtype="f2")
        self.target_tex = ctx.texture((W, H), 4)
        self.target = ctx.framebuffer(color_attachments=[self.target_tex])

    def release(self) -> None:
        restore_framebuffer(self.ctx, None)  # never leave a dead framebuffer bound
        for obj in (self.target, self.target_tex, self.result, self.original, self.inv_depth,
                    self.coc):
            obj.release()


@pytest.fixture
def scene(ctx: moderngl.Context) -> Iterator[Scene]:
    s = Scene(ctx)
    yield s
    s.release()


@pytest.fixture
def viewer(programs) -> Iterator[ViewerPass]:  # type: ignore[no-untyped-def]
    v = ViewerPass(programs)
    yield v
    v.release()


def draw(viewer: ViewerPass, s: Scene, params: OverlayParams | None = None,
         rect: tuple[float, float, float, float] = (0, 0, W, H),
         split_x: float | None = None) -> np.ndarray:
    viewer.render(s.target, (W, H), rect, result=s.result, original=s.original,
                  inv_depth=s.inv_depth, coc=s.coc, params=params or OverlayParams(),
                  split_x=split_x)
    img = np.frombuffer(s.target.read(components=3), np.uint8).reshape(H, W, 3)
    return img[::-1].astype(np.int32)  # GL rows are bottom-up: flip to top-down


def test_plain_view_is_the_result_right_way_up(viewer: ViewerPass, scene: Scene) -> None:
    img = draw(viewer, scene)
    assert (img[:4] == 0).all()  # the first image rows are at the top of the target
    assert (img[10, 10] == 128).all() and (img[10, 60] == 255).all()


def test_rect_places_the_image_and_fills_the_rest(viewer: ViewerPass, scene: Scene) -> None:
    img = draw(viewer, scene, rect=(32, 16, W, H))  # shifted right and down
    bg = np.round(np.array(OverlayParams().background) * 255)
    assert np.abs(img[5, 5] - bg).max() <= 1 and np.abs(img[20, 10] - bg).max() <= 1
    assert (img[16:20, 32:] == 0).all()  # first image rows start at y = 16
    assert (img[25, 40] == 128).all()


def test_ab_split_shows_the_encoded_original_left(viewer: ViewerPass, scene: Scene) -> None:
    img = draw(viewer, scene, split_x=20.0)
    assert np.abs(img[10, 5] - 124).max() <= 1  # sRGB(0.2) = 0.4845
    assert (img[10, 25] == 128).all()


def test_focus_plane_colours(viewer: ViewerPass, scene: Scene) -> None:
    img = draw(viewer, scene, OverlayParams(focus_plane=True))
    near, focus, far = img[10, 5], img[10, 30], img[10, 45]
    assert near[0] > near[1] + 40 and near[0] > near[2] + 40  # red in front
    assert focus[1] > focus[0] + 40 and focus[1] > focus[2] + 40  # green in focus
    assert far[2] > far[0] + 40 and far[2] > far[1] + 40  # blue behind


def test_depth_view_is_near_bright(viewer: ViewerPass, scene: Scene) -> None:
    img = draw(viewer, scene, OverlayParams(depth=True, depth_range=(1 / 8.0, 1.0)))
    assert (img[10, 5] >= 254).all()  # 1 m is the near end
    assert (img[10, 30] <= 1).all()  # 8 m is the far end
    mid = draw(viewer, scene, OverlayParams(depth=True, depth_range=(0.0, 0.25)))
    assert 150 < mid[10, 30, 0] < 200  # 0.125 of 0.25: half, sRGB-encoded ~188


def test_peaking_marks_only_the_edge(viewer: ViewerPass, scene: Scene) -> None:
    img = draw(viewer, scene, OverlayParams(peaking=True))
    peak = np.round(np.array(OverlayParams().peak_color) * 255)
    marked = (np.abs(img - peak).max(axis=2) <= 1)
    assert marked[10, 47] and marked[10, 48]
    assert not marked[10, 30] and not marked[10, 60] and not marked[20, 10]
    assert marked[3, 20] and marked[4, 20]  # the black band's edge too


def test_coc_heat_map_grows_with_defocus(viewer: ViewerPass, scene: Scene) -> None:
    img = draw(viewer, scene, OverlayParams(coc=True, coc_max_px=10.0))
    assert img[10, 30].max() <= 2  # in focus: black
    assert img[10, 5].min() >= 200 and img[10, 60].min() >= 200  # |CoC| at max: pale yellow
    half = draw(viewer, scene, OverlayParams(coc=True, coc_max_px=20.0))
    assert 100 < half[10, 5].sum() < img[10, 5].sum()
