"""Decoded frames to GPU textures: YUV planes through pixel-buffer objects, converted on the GPU.

Main thread only. Every GL object here is made once and reused: the plane textures and their
pixel-buffer objects (PBOs) while the format stays the same, the ``color`` texture and its
framebuffer while the source's bit depth stays the same, and the R32F ``depth`` texture while
depth keeps its size. Depth shared by consecutive packets (a still, or a depth frame held over
several clip frames) is uploaded once.

Colour: ``yuv_to_rgb.frag`` applies the matrix and range of the stream (BT.601/709/2020,
limited/full; see :func:`yuv_coefficients`) in one pass, from the three planes, or from luma
and the chroma the decoder thread interleaved for a software rasteriser
(``reader.frame_planes``, ``gpu.context.interleave_chroma_for``): one bilinear read for both.
Reads of ``color`` give linear light either way: 8-bit sources are stored display-encoded in an
SRGB8_ALPHA8 texture that the sampler decodes (4 bytes a pixel, and no per-pixel transfer
function in the pass: the same 8-bit R'G'B' an 8-bit source holds), deeper sources as RGBA16F
linear light, decoded by the pass. Output orientation: row 0 of the (display-rotated) image is at
``v_uv.y = 0``, as if its numpy rows had been uploaded directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import moderngl
import numpy as np
import numpy.typing as npt

from rackfocus_live.colour import WORKING_SPACE
from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.depthdetail import SHOT_ATTEMPTS
from rackfocus_live.errors import InputError
from rackfocus_live.gpu.context import framebuffer_kept, restore_framebuffer
from rackfocus_live.gpu.depthprep import StreamConditioner, luma_grid_of_plane, luma_grid_of_rgb
from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.ocio_view import OcioInputPass
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.media.decoder import FramePacket
from rackfocus_live.media.depthsource import DepthSource
from rackfocus_live.media.probe import PLANE_LAYOUTS, ColorMatrix, ColorRange, MediaInfo
from rackfocus_live.media.sequence import PLATE_FORMAT, plate_space

#: Texture types of plate samples: integers normalised to 0..1 (code values), floats as they are.
_PLATE_DTYPES = {np.dtype(np.uint8): "f1", np.dtype(np.uint16): "nu2",
                 np.dtype(np.float16): "f2", np.dtype(np.float32): "f4"}

#: GL enums moderngl has no names for.
GL_SRGB8_ALPHA8 = 0x8C43
GL_FRAMEBUFFER_SRGB = 0x8DB9

#: (Kr, Kb) luma coefficients of each matrix (ITU-R BT.601, BT.709, BT.2020 non-constant).
LUMA_COEFFICIENTS: dict[str, tuple[float, float]] = {
    "bt601": (0.299, 0.114),
    "bt709": (0.2126, 0.0722),
    "bt2020": (0.2627, 0.0593),
}


def ycbcr_to_rgb_matrix(matrix: ColorMatrix) -> npt.NDArray[np.float64]:
    """3x3 matrix from (Y', Cb, Cr) with Y' in [0, 1] and Cb, Cr in [-0.5, 0.5] to R'G'B'."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    kg = 1.0 - kr - kb
    return np.array(
        [
            [1.0, 0.0, 2.0 * (1.0 - kr)],
            [1.0, -2.0 * kb * (1.0 - kb) / kg, -2.0 * kr * (1.0 - kr) / kg],
            [1.0, 2.0 * (1.0 - kb), 0.0],
        ]
    )


def yuv_coefficients(
    matrix: ColorMatrix, color_range: ColorRange, bits: int, texture_max: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(M, offset)`` with ``R'G'B' = M @ (t - offset)`` for normalised texture reads ``t``.

    Args:
        matrix: bt601, bt709 or bt2020.
        color_range: limited (Y 16-235, C 16-240, scaled by 2^(bits-8)) or full (0 to 2^bits-1,
            chroma centred on 2^(bits-1), the JPEG/FFmpeg convention).
        bits: significant bits of the samples.
        texture_max: what a read of 1.0 means in code values (255 for R8, 65535 for R16:
            10-bit samples sit in the low bits of 16-bit words).
    """
    top = (1 << bits) - 1
    if color_range == "limited":
        s = float(1 << (bits - 8))
        offset_code = np.array([16.0 * s, 128.0 * s, 128.0 * s])
        scale = np.array([1.0 / (219.0 * s), 1.0 / (224.0 * s), 1.0 / (224.0 * s)])
    else:
        offset_code = np.array([0.0, float(1 << (bits - 1)), float(1 << (bits - 1))])
        scale = np.full(3, 1.0 / top)
    m = ycbcr_to_rgb_matrix(matrix) @ np.diag(scale * texture_max)
    return m, offset_code / texture_max


def uv_transform(rotation: int) -> npt.NDArray[np.float64]:
    """3x3 affine map from display uv to coded uv for a counter-clockwise display rotation.

    Matches ``np.rot90(coded, k=rotation // 90)`` with row 0 at v = 0.
    """
    table = {
        0: [[1, 0, 0], [0, 1, 0]],
        90: [[0, -1, 1], [1, 0, 0]],
        180: [[-1, 0, 1], [0, -1, 1]],
        270: [[0, 1, 0], [-1, 0, 1]],
    }
    if rotation not in table:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation}")
    return np.array([*table[rotation], [0, 0, 1]], dtype=np.float64)


def whole_rows(plane: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """``plane`` widened to its whole rows (row padding included) when it is a view into a padded
    buffer, as decoded frames are; otherwise ``plane`` itself, or a contiguous copy.

    Uploading whole rows lets a PBO take the decoder's memory as it is; the shader then scales
    its horizontal texture coordinate by ``width / row_length`` and never reads the padding.
    """
    if plane.flags.c_contiguous:
        return plane
    height = plane.shape[0]
    item = plane.itemsize
    row = plane.strides[0]
    if plane.ndim == 2 and plane.strides[1] == item and row > 0 and row % item == 0:
        # Only widen inside the memory the view's base owns (a decoded plane is
        # line_size * height bytes, padding of the last row included).
        base = plane
        while isinstance(base.base, np.ndarray):
            base = base.base
        low, _ = np.lib.array_utils.byte_bounds(plane)
        base_low, base_high = np.lib.array_utils.byte_bounds(base)
        if low >= base_low and low + height * row <= base_high:
            return np.lib.stride_tricks.as_strided(
                plane, shape=(height, row // item), strides=(row, item), writeable=False
            )
    return np.ascontiguousarray(plane)


def _column_major(m: npt.NDArray[np.float64]) -> tuple[float, ...]:
    # GLSL matrices are column-major.
    return tuple(float(x) for x in np.asarray(m, dtype=np.float64).T.reshape(-1))


@dataclass(frozen=True)
class _Conversion:
    """A stream's YUV conversion: the colour matrix and bias as GLSL constants (``mat3(...)``,
    ``vec3(...)``), compiled into the pass, and the per-size uniforms.

    Constants, not uniforms, because llvmpipe reloads a uniform at every use in every block of
    pixels: the matrix and bias as uniforms cost half a copy pass of the frame (1.8x a copy
    against 1.25x as constants, 1080p). A stream keeps them for its life, so the one compile per
    stream is paid once; on a GPU either way is free.
    """

    matrix: str
    bias: str
    uniforms: dict[str, object]


def _conversion_for(fmt: str, info: MediaInfo, luma_w: int, luma_h: int,
                    chroma_w: int, chroma_row: int) -> _Conversion:
    """The conversion for a stream: matrix, range and bit depth folded into one matrix and bias,
    the coded size, and the chroma siting and extent (``chroma_w`` visible samples in texture
    rows of ``chroma_row``: planar chroma is uploaded as whole decoded rows, interleaved chroma
    is exactly the visible samples)."""
    layout = PLANE_LAYOUTS[fmt]
    m, offset = yuv_coefficients(
        info.color_matrix, info.color_range, layout.bits, 65535 if layout.bits > 8 else 255
    )
    # MPEG-style video puts 4:2:0/4:2:2 chroma on the left luma sample; JPEG (yuvj) centres it.
    left_sited = layout.chroma_shift[0] == 1 and not fmt.startswith("yuvj")
    return _Conversion(
        matrix=_glsl_constructor("mat3", _column_major(m)),
        bias=_glsl_constructor("vec3", [float(x) for x in -(m @ offset)]),
        uniforms={
            "u_coded_max": (luma_w - 1, luma_h - 1),
            "u_chroma_scale": chroma_w / chroma_row,
            "u_chroma_shift": 0.25 / chroma_row if left_sited else 0.0,
            # Bilinear chroma must not reach into the row padding (or past the last column).
            "u_chroma_max": (chroma_w - 0.5) / chroma_row,
        })


def _glsl_constructor(kind: str, values: Sequence[float]) -> str:
    # repr() is the shortest text that reads back as the same double; GLSL rounds it to float
    # as it would the uniform.
    return f"{kind}({', '.join(repr(float(v)) for v in values)})"


class FrameUploader:
    """Uploads :class:`FramePacket`s into reused textures.

    Args:
        ctx: the GL context (main thread).
        programs: shader cache.
        width: display width of the clip (``MediaInfo.display_size``, after rotation).
        height: display height.

    Attributes:
        color: the colour, ``width`` x ``height`` (alpha 1); sampling it gives linear light. It
            is SRGB8_ALPHA8 for 8-bit sources (its bytes are sRGB code values) and RGBA16F for
            deeper ones (see :func:`color_is_encoded`); a source of the other kind replaces it.
        raw_depth: R32F inverse depth (1/m) at the depth's own resolution (1x1 of 0 before the
            first upload); sample it with normalised coordinates.
        depth: what the renderer reads: the conditioned depth (full resolution, r channel) when
            ``conditioning`` is given and any step is on, else ``raw_depth``.
        conditioner: the depth conditioning of this stream (None without ``conditioning``).
        uploads: frames uploaded.
        depth_uploads: depth maps uploaded (fewer when depth is shared between frames).
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        programs: ProgramCache,
        width: int,
        height: int,
        *,
        conditioning: DepthConditioning | None = None,
        depth_kind: str = "metric",
        depth_moving: bool = False,
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"invalid frame size {width}x{height}")
        self.ctx = ctx
        self.conditioner = None if conditioning is None else StreamConditioner(
            ctx, programs, (width, height), conditioning, depth_kind, depth_moving)
        self._conditioned: moderngl.Texture | None = None
        #: The last frame and how to get its luma grid: conditioned again when settings change.
        self._last_packet: tuple[FramePacket, Callable[[], npt.NDArray[np.float64]]] | None = None
        self.width, self.height = width, height
        self._encoded = True
        self.color, self._fbo = self._make_color(encoded=True)
        self.raw_depth = ctx.texture((1, 1), 1, data=np.zeros(1, np.float32).tobytes(),
                                     dtype="f4")
        self._setup_depth_sampling(self.raw_depth)
        self._depth_pbo: moderngl.Buffer | None = None
        self._last_depth: np.ndarray | None = None
        #: Where the depth detail is read from (``measure_depth_detail``): source, shot start.
        self._detail_source: tuple[DepthSource, int] | None = None
        self._planes: list[moderngl.Texture] = []
        self._pbos: list[moderngl.Buffer] = []
        self._plane_key: tuple[object, ...] | None = None
        #: The conversion's constants and uniforms and the stream properties they were made for.
        self._conversion: tuple[tuple[object, ...], _Conversion] | None = None
        self._programs = programs
        self._passes: dict[tuple[bool, int, bool, str, str], FullscreenPass] = {}
        self._plate_pass = FullscreenPass(programs, "plate_to_linear.frag")
        self._input_passes: dict[str, OcioInputPass] = {}
        self._released = False
        self.uploads = 0
        self.depth_uploads = 0

    def upload(self, packet: FramePacket, info: MediaInfo) -> None:
        """Write the packet's planes and depth, then convert to ``color``.

        Raises:
            ValueError: the packet does not match ``info`` or this uploader's size.
        """
        if self._released:
            raise RuntimeError("FrameUploader used after release()")
        if packet.format == PLATE_FORMAT:
            self._upload_plate(packet, info)
            return
        if packet.format not in PLANE_LAYOUTS:
            raise ValueError(f"cannot upload pixel format {packet.format}")
        layout = PLANE_LAYOUTS[packet.format]
        interleaved = len(packet.planes) == 2 and packet.planes[1].ndim == 3
        if not interleaved and (len(packet.planes) != 3 or packet.planes[1].ndim != 2):
            raise ValueError("YUV packets carry (Y, U, V) or (Y, UV) planes (reader.frame_planes)")
        luma_h, luma_w = packet.planes[0].shape
        rotated = (luma_h, luma_w) if info.rotation in (90, 270) else (luma_w, luma_h)
        if rotated != (self.width, self.height):
            raise ValueError(
                f"frame {luma_w}x{luma_h} (rotation {info.rotation}) does not fit an uploader "
                f"of {self.width}x{self.height}"
            )
        rows = [whole_rows(p) for p in packet.planes]
        self._ensure_planes(packet.format, [r.shape for r in rows], layout.bits > 8)
        self._ensure_color(encoded=layout.bits <= 8)
        for tex, pbo, data in zip(self._planes, self._pbos, rows, strict=True):
            # Orphaning gives the driver fresh storage, so this write never waits for the GPU to
            # finish reading the previous frame's data.
            pbo.orphan()
            pbo.write(data)
            tex.write(pbo)
        if packet.depth is not self._last_depth:
            self._upload_depth(packet.depth)
        # The same for every frame of a stream: made once, not per frame (numpy per call costs
        # a small frame's budget on the main thread).
        chroma = (packet.planes[1].shape[1], rows[1].shape[1])
        key = (packet.format, info.color_matrix, info.color_range, luma_w, luma_h, chroma)
        if self._conversion is None or self._conversion[0] != key:
            self._conversion = (key, _conversion_for(packet.format, info, luma_w, luma_h,
                                                     *chroma))
        conversion = self._conversion[1]
        uv_transform(info.rotation)  # validates the rotation
        chroma_textures = ([("u_uv", self._planes[1])] if interleaved else
                           [("u_u", self._planes[1]), ("u_v", self._planes[2])])
        # The encoded output must be stored as written, not encoded again on the way.
        self.ctx.disable_direct(GL_FRAMEBUFFER_SRGB)
        with framebuffer_kept(self.ctx):  # leave the caller's binding as found
            self._pass_for(info.rotation, interleaved, conversion).render(
                self._fbo,
                textures=[("u_y", self._planes[0]), *chroma_textures],
                uniforms=conversion.uniforms,
            )
        plane, bits, rotation = packet.planes[0], layout.bits, info.rotation
        self._condition(packet, lambda: luma_grid_of_plane(plane, bits, rotation))
        self.uploads += 1

    @property
    def depth(self) -> moderngl.Texture:
        return self._conditioned if self._conditioned is not None else self.raw_depth

    def measure_depth_detail(self, source: DepthSource, first: int) -> None:
        """Read how coarse the clip's depth really is (``depthdetail``) from its frames from
        ``first`` (the shot's start) on, before any frame is shown, with a reader of its own:
        the preview and every export of the shot, whole or in farm chunks, then refine with
        the same reach (``ShotDetail.measure_from``). Without refinement, when it is turned on
        (``set_conditioning``)."""
        self._detail_source = (source, first)
        if (self.conditioner is None or not self.conditioner.settings.refine
                or self.conditioner.detail.tried):
            return
        count = 1 if source.kind == "still" else SHOT_ATTEMPTS
        last = min(source.clip.frame_count, first + count)
        reader = source.reader()
        try:
            self.conditioner.detail.measure_from(
                (reader.read(index) for index in range(first, last)),
                (self.height, self.width))
        except InputError:
            pass  # a damaged frame: the stream meets it, reports it, and measures as it goes
        finally:
            reader.close()

    def set_conditioning(self, settings: DepthConditioning) -> bool:
        """Switch conditioning steps; the last frame is conditioned again at once (from the
        textures and packet it already has). True if anything changed."""
        if self.conditioner is None or settings == self.conditioner.settings:
            return False
        self.conditioner.set_settings(settings)
        if self._detail_source is not None:
            self.measure_depth_detail(*self._detail_source)
        if self._last_packet is not None:
            self._condition(*self._last_packet)
        return True

    def _condition(self, packet: FramePacket,
                   luma_grid: Callable[[], npt.NDArray[np.float64]]) -> None:
        """Run the depth conditioning of this frame (after the colour conversion it reads);
        ``luma_grid`` gives the frame's luma at the stabiliser's grid (only called when on)."""
        self._conditioned = None
        self._last_packet = (packet, luma_grid)
        if self.conditioner is None or not self.conditioner.active:
            return
        self._setup_depth_sampling(self.raw_depth)
        self._conditioned = self.conditioner.process(
            packet.index, self.color, self.raw_depth, packet.depth, luma_grid(),
            color_is_srgb=False)

    def release(self) -> None:
        """Free every GL object. Idempotent."""
        if self._released:
            return
        self._released = True
        if self.ctx.fbo is self._fbo:
            # A deleted framebuffer must not stay bound (see context.restore_framebuffer).
            restore_framebuffer(self.ctx, None)
        for p in self._passes.values():
            p.release()
        self._passes.clear()
        self._release_planes()
        self._plate_pass.release()
        for ocio_pass in self._input_passes.values():
            ocio_pass.release()
        self._input_passes.clear()
        if self.conditioner is not None:
            self.conditioner.release()
        self._conditioned = None
        self._last_packet = None
        for obj in (self._fbo, self.color, self.raw_depth, self._depth_pbo):
            if obj is not None:
                obj.release()
        self._depth_pbo = None
        self._last_depth = None

    @property
    def color_is_encoded(self) -> bool:
        """Whether ``color`` is SRGB8_ALPHA8 (bytes are sRGB codes) rather than RGBA16F linear."""
        return self._encoded

    def read_display(self) -> npt.NDArray[np.float64]:
        """``color`` read back as display-encoded (sRGB) values in 0..1, HxWx3, row 0 first
        (checks in tests and benchmarks; a GPU stall)."""
        with framebuffer_kept(self.ctx):
            raw = self.color.read()
        if self._encoded:
            codes = np.frombuffer(raw, np.uint8).reshape(self.height, self.width, 4)
            return codes[..., :3] / 255.0
        rgba = np.frombuffer(raw, np.float16).reshape(self.height, self.width, 4)
        linear = np.clip(rgba[..., :3].astype(np.float64), 0.0, 1.0)
        return np.where(linear <= 0.0031308, linear * 12.92,
                        1.055 * linear ** (1 / 2.4) - 0.055)

    # -- internals ---------------------------------------------------------------------------

    def _make_color(self, *, encoded: bool) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        size = (self.width, self.height)
        if encoded:
            tex = self.ctx.texture(size, 4, internal_format=GL_SRGB8_ALPHA8)
        else:
            tex = self.ctx.texture(size, 4, dtype="f2")
        tex.repeat_x = tex.repeat_y = False
        tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        return tex, self.ctx.framebuffer(color_attachments=[tex])

    def _ensure_color(self, *, encoded: bool) -> None:
        if encoded == self._encoded:
            return
        if self.ctx.fbo is self._fbo:
            restore_framebuffer(self.ctx, None)
        self._fbo.release()
        self.color.release()
        self.color, self._fbo = self._make_color(encoded=encoded)
        self._encoded = encoded

    def _pass_for(self, rotation: int, interleaved: bool,
                  conversion: _Conversion) -> FullscreenPass:
        key = (self._encoded, rotation, interleaved, conversion.matrix, conversion.bias)
        found = self._passes.get(key)
        if found is None:
            found = self._passes[key] = FullscreenPass(
                self._programs, "yuv_to_rgb.frag",
                {"ENCODED_OUTPUT": self._encoded, "ROTATION": rotation,
                 "INTERLEAVED_CHROMA": interleaved, "YUV_MATRIX": conversion.matrix,
                 "YUV_BIAS": conversion.bias},
                vert="yuv_to_rgb.vert")
        return found

    def _upload_plate(self, packet: FramePacket, info: MediaInfo) -> None:
        """Plates (and video with a named colour space) arrive as HxWx3 as stored: through a PBO
        into a texture of that type (8/16-bit integers normalised), then OCIO's GPU shader for
        the clip's input space writes working-space light into ``color``, unclamped (a plain
        copy, ``plate_to_linear.frag``, when it is the working space already)."""
        rgb = packet.planes[0]
        h, w = rgb.shape[:2]
        if (w, h) != (self.width, self.height) or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"plate {w}x{h} {rgb.shape} does not fit an uploader of "
                             f"{self.width}x{self.height}")
        dtype = _PLATE_DTYPES.get(rgb.dtype)
        if dtype is None:
            raise ValueError(f"cannot upload plate samples of type {rgb.dtype}")
        data = np.ascontiguousarray(rgb)
        key = (PLATE_FORMAT, dtype, data.shape)
        if key != self._plane_key:
            self._release_planes()
            tex = self.ctx.texture((w, h), 3, dtype=dtype)
            tex.repeat_x = tex.repeat_y = False
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self._planes.append(tex)
            self._pbos.append(self.ctx.buffer(reserve=data.nbytes))
            self._plane_key = key
        # Plates carry light beyond 1.0: the colour texture must be float, never sRGB8.
        self._ensure_color(encoded=False)
        pbo = self._pbos[0]
        pbo.orphan()
        pbo.write(data)
        self._planes[0].write(pbo, alignment=1)
        if packet.depth is not self._last_depth:
            self._upload_depth(packet.depth)
        space = plate_space(info)
        with framebuffer_kept(self.ctx):
            if space == WORKING_SPACE:
                self._plate_pass.render(self._fbo, textures=[("u_plate", self._planes[0])])
            else:
                if space not in self._input_passes:
                    self._input_passes[space] = OcioInputPass(self.ctx, space)
                self._input_passes[space].render(self._planes[0], self._fbo)
        self._condition(packet, lambda: luma_grid_of_rgb(rgb))
        self.uploads += 1

    def _ensure_planes(
        self, fmt: str, shapes: Sequence[tuple[int, ...]], sixteen_bit: bool
    ) -> None:
        key = (fmt, tuple(shapes))
        if key == self._plane_key:
            return
        self._release_planes()
        dtype, itemsize = ("nu2", 2) if sixteen_bit else ("f1", 1)
        for i, shape in enumerate(shapes):
            h, w = shape[0], shape[1]
            components = shape[2] if len(shape) == 3 else 1
            tex = self.ctx.texture((w, h), components, dtype=dtype)
            tex.repeat_x = tex.repeat_y = False
            # Luma is read one texel per pixel; chroma is upsampled bilinearly.
            f = moderngl.NEAREST if i == 0 else moderngl.LINEAR
            tex.filter = (f, f)
            self._planes.append(tex)
            self._pbos.append(self.ctx.buffer(reserve=w * h * components * itemsize))
        self._plane_key = key

    def _release_planes(self) -> None:
        for tex in self._planes:
            tex.release()
        for pbo in self._pbos:
            pbo.release()
        self._planes.clear()
        self._pbos.clear()
        self._plane_key = None

    def _upload_depth(self, depth: np.ndarray) -> None:
        data = np.ascontiguousarray(depth, dtype=np.float32)
        h, w = data.shape
        if self.raw_depth.size != (w, h):
            self.raw_depth.release()
            self.raw_depth = self.ctx.texture((w, h), 1, dtype="f4")
            self._setup_depth_sampling(self.raw_depth)
        if self._depth_pbo is None or self._depth_pbo.size != data.nbytes:
            if self._depth_pbo is not None:
                self._depth_pbo.release()
            self._depth_pbo = self.ctx.buffer(reserve=data.nbytes)
        else:
            self._depth_pbo.orphan()
        self._depth_pbo.write(data)
        self.raw_depth.write(self._depth_pbo)
        # Keep the array itself: identity, not id(), decides whether the next packet's depth is
        # the same (an id can be reused once an array is freed).
        self._last_depth = depth
        self.depth_uploads += 1

    @staticmethod
    def _setup_depth_sampling(tex: moderngl.Texture) -> None:
        tex.repeat_x = tex.repeat_y = False
        # Bilinear on inverse depth: resampling depth of another resolution stays smooth, and
        # inverse depth interpolates the way perspective does.
        tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
