"""Thin-lens optics in numpy: the reference the shaders are tested against.

All lengths are metres unless the name says otherwise (``_mm``, ``_px``). The circle of confusion
(CoC) is a signed *diameter*: negative in front of the focus plane, positive behind it.

Textbook thin lens (real footage: the frame spans the sensor at the image distance)::

    A = f / N                      aperture diameter
    c = A * f * (z - S) / (z * (S - f))
    c_px = c * image_width_px / sensor_width

With ``focus_breathing=False`` the field of view stays that of the pinhole (what Cycles and most CG
cameras do), and the factor S / (S - f) drops out: ``c = A * f * (z - S) / (z * S)``.

Both forms are linear in inverse depth w = 1/z::

    c_px = K_px * (1/S - w),   K_px = A * f * g * width_px / sensor_width,   g = S/(S-f) or 1

which is why the GPU only needs inverse depth, ``K_px`` and ``1/S``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from rackfocus_live.errors import InputError

#: Sensor widths in millimetres (the dimension the image width spans).
SENSOR_PRESETS_MM: dict[str, float] = {
    "full-frame": 36.0,
    "super35": 24.89,
    "aps-c": 23.5,
    "micro-four-thirds": 17.3,
    "1-inch": 13.2,
}

#: Largest CoC diameter (px at the rendered width) the renderer will produce; beyond this the
#: gather would need more samples than any preset has, so the CoC is clamped (documented).
MAX_COC_FRACTION_OF_WIDTH = 0.15


@dataclass(frozen=True, slots=True)
class LensState:
    """A physical lens and its settings.

    Attributes:
        focal_length_mm: focal length in millimetres (> 0).
        f_stop: f-number N; aperture diameter is focal length / N (> 0).
        sensor_width_mm: width of the sensor area the image spans, millimetres (> 0).
        focus_m: focus distance S in metres, measured from the lens (> focal length).
        blades: aperture blade count; 0 is a circular aperture, otherwise 3..16.
        blade_rotation_deg: rotation of the polygonal aperture, degrees.
        squeeze: anamorphic squeeze; bokeh is stretched vertically by this factor (1 = spherical).
        focus_breathing: True for the textbook thin lens (real footage); False keeps the pinhole
            field of view when focusing, as CG cameras (Cycles, EEVEE) do.
    """

    focal_length_mm: float = 50.0
    f_stop: float = 2.8
    sensor_width_mm: float = 36.0
    focus_m: float = 2.0
    blades: int = 0
    blade_rotation_deg: float = 0.0
    squeeze: float = 1.0
    focus_breathing: bool = True

    def __post_init__(self) -> None:
        self.validate()
        # The blade polygon repeats every 360 degrees; the shaders work in float32, where an
        # angle of 1e300 degrees is no angle at all (no blur). Keep it in [0, 360).
        wrapped = math.fmod(self.blade_rotation_deg, 360.0) % 360.0
        if wrapped >= 360.0:  # a tiny negative angle rounds up to 360 in the modulo
            wrapped = 0.0
        if wrapped != self.blade_rotation_deg:
            object.__setattr__(self, "blade_rotation_deg", wrapped)

    def validate(self) -> None:
        """Raise InputError with a one-line reason when a value is out of range."""
        checks: list[tuple[bool, str]] = [
            (_finite_positive(self.focal_length_mm), "focal length must be > 0 mm"),
            (_finite_positive(self.f_stop), "f-stop must be > 0"),
            (_finite_positive(self.sensor_width_mm), "sensor width must be > 0 mm"),
            (_finite_positive(self.focus_m), "focus distance must be > 0 m"),
            (self.blades == 0 or 3 <= self.blades <= 16, "blades must be 0 (circular) or 3..16"),
            (math.isfinite(self.blade_rotation_deg), "blade rotation must be a finite angle"),
            (
                math.isfinite(self.squeeze) and 0.25 <= self.squeeze <= 4.0,
                "anamorphic squeeze must be within 0.25..4",
            ),
        ]
        for ok, problem in checks:
            if not ok:
                raise InputError(problem)
        if self.focus_m <= self.focal_length_m:
            raise InputError(
                f"focus distance {self.focus_m:g} m must be greater than the focal length "
                f"({self.focal_length_mm:g} mm)"
            )

    @property
    def focal_length_m(self) -> float:
        return self.focal_length_mm * 1e-3

    @property
    def aperture_m(self) -> float:
        """Aperture (entrance pupil) diameter in metres."""
        return self.focal_length_m / self.f_stop

    def with_focus(self, focus_m: float) -> LensState:
        return replace(self, focus_m=focus_m)

    def coc_scale_px(self, image_width_px: int) -> float:
        """K_px such that c_px = K_px * (1/S - 1/z); see the module docstring."""
        f = self.focal_length_m
        s = self.focus_m
        breathing = s / (s - f) if self.focus_breathing else 1.0
        return self.aperture_m * f * breathing * image_width_px / (self.sensor_width_mm * 1e-3)

    def coc_px(
        self, depth_m: npt.ArrayLike, image_width_px: int
    ) -> npt.NDArray[np.float64]:
        """Signed CoC diameter (px) for planar depth ``depth_m`` in metres (inf: infinitely far)."""
        z = np.asarray(depth_m, dtype=np.float64)
        with np.errstate(divide="ignore"):
            inv_z = np.where(np.isinf(z), 0.0, 1.0 / z)
        return self.coc_px_from_inverse_depth(inv_z, image_width_px)

    def coc_px_from_inverse_depth(
        self, inv_depth: npt.ArrayLike, image_width_px: int
    ) -> npt.NDArray[np.float64]:
        """Signed CoC diameter in pixels from inverse depth w = 1/z (1/m). Mirrors coc.frag."""
        w = np.asarray(inv_depth, dtype=np.float64)
        return self.coc_scale_px(image_width_px) * (1.0 / self.focus_m - w)

    def max_coc_px(self, image_width_px: int) -> float:
        """The CoC diameter clamp (px) used by the renderer at this width."""
        return MAX_COC_FRACTION_OF_WIDTH * image_width_px

    def aperture_norm(
        self, dx: npt.ArrayLike, dy: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        """The aperture "radius" at which offset (dx, dy) px lies on the rim of the bokeh shape:
        inside a CoC of radius r exactly when ``aperture_norm <= r``. Twin of aperture.glsl.
        """
        x = np.asarray(dx, dtype=np.float64)
        y = np.asarray(dy, dtype=np.float64) / self.squeeze
        r = np.hypot(x, y)
        if self.blades < 3:
            return r
        seg = 2 * math.pi / self.blades
        local = np.mod(np.arctan2(y, x) - math.radians(self.blade_rotation_deg), seg) - seg / 2
        return r * np.cos(local) / math.cos(seg / 2)

    def discrete_footprint(self, radius_px: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Total weight a source of CoC radius r spreads over the pixel grid with a one-pixel
        antialiased rim: sum over pixels of clip(r - aperture_norm + 0.5, 0, 1). Dividing by it
        makes small discs spread exactly their own light (pi r^2 is 9 % off at r = 0.8 px).
        """
        r = np.asarray(radius_px, dtype=np.float64)
        reach = math.ceil((float(r.max()) + 1.0) * max(1.0, self.squeeze))
        dy, dx = np.mgrid[-reach: reach + 1, -reach: reach + 1]
        norm = self.aperture_norm(dx, dy).ravel()
        return np.clip(r[..., None] - norm + 0.5, 0.0, 1.0).sum(axis=-1)

    def discrete_rim_radius(self, radius_px: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The rim radius to give the discrete footprint (``discrete_footprint``'s one-pixel
        antialiased rim) for a CoC of radius r, so that it spreads light with the second moment
        of the continuous aperture of radius r. The rim model itself does not blur at all below
        r = 0.5 px and over-blurs by up to 1.8x in variance up to r = 1.5 px (a neighbour is
        either left out or counted with a weight that jumps in); the thin lens blurs a sampled,
        band-limited image by exactly the aperture's second moment at every radius.
        """
        r = np.asarray(radius_px, dtype=np.float64)
        # Second moment of the unit aperture (per unit radius squared), from a fine grid.
        fine = (np.arange(-200, 201) / 200.0) * 1.05 * max(1.0, self.squeeze)
        fy, fx = np.meshgrid(fine, fine, indexing="ij")
        inside = self.aperture_norm(fx, fy) <= 1.0
        unit_moment = float((fx[inside] ** 2 + fy[inside] ** 2).mean())
        # The discrete footprint's second moment over a dense range of rim radii (increasing
        # with the rim radius: what it adds lies at the rim, beyond everything it has).
        reach = math.ceil((float(r.max()) + 2.0) * max(1.0, self.squeeze))
        dy, dx = np.mgrid[-reach: reach + 1, -reach: reach + 1]
        norm = self.aperture_norm(dx, dy).ravel()
        # From the largest rim that leaves the neighbours out (0.5 px for a round aperture,
        # less for a squeezed one, whose nearest neighbours lie inside its unit norm).
        start = min(0.5, float(norm[norm > 0].min()) - 0.5)
        rim = np.linspace(start, float(r.max()) + 1.0, 512)
        dist2 = (dx * dx + dy * dy).ravel().astype(np.float64)
        w = np.clip(rim[:, None] - norm + 0.5, 0.0, 1.0)
        moment = np.maximum.accumulate((w * dist2).sum(axis=1) / w.sum(axis=1))
        return np.interp(unit_moment * r * r, moment, rim)

    def depth_of_field_m(
        self, acceptable_coc_px: float, image_width_px: int
    ) -> tuple[float, float]:
        """Near and far limits (m) of acceptable sharpness for a CoC diameter in pixels.

        The far limit is ``inf`` at or beyond the hyperfocal distance.
        """
        k = self.coc_scale_px(image_width_px)
        inv_s = 1.0 / self.focus_m
        near = 1.0 / (inv_s + acceptable_coc_px / k)
        far_inv = inv_s - acceptable_coc_px / k
        far = math.inf if far_inv <= 0 else 1.0 / far_inv
        return near, far


def sensor_width_mm(name_or_mm: str) -> float:
    """A preset name from SENSOR_PRESETS_MM or a number of millimetres."""
    key = name_or_mm.strip().lower()
    if key in SENSOR_PRESETS_MM:
        return SENSOR_PRESETS_MM[key]
    try:
        value = float(key)
    except ValueError:
        names = ", ".join(SENSOR_PRESETS_MM)
        raise InputError(
            f"unknown sensor '{name_or_mm}' (a width in mm, or one of: {names})"
        ) from None
    if not _finite_positive(value):
        raise InputError("sensor width must be > 0 mm")
    return value


def _finite_positive(x: float) -> bool:
    return math.isfinite(x) and x > 0
